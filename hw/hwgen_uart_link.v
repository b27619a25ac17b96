// The shell's byte link over a UART: a receiver, a FIFO, a transmitter. The FIFO is there because the shell may
// hold rx_ready low (docs/shell.md, flow control) and a UART cannot wait: the bytes that arrive meanwhile queue
// here (2^FIFO_AW of them; beyond that they are dropped and the frame's CRC fails). It is read through a
// registered port so synthesis puts it in block RAM. The transmitter needs no queue: the shell waits for tx_ready.
module hwgen_uart_link #(
    parameter CLKS_PER_BIT = 33,   // clock / baud
    parameter FIFO_AW = 6          // the FIFO holds 2^FIFO_AW bytes
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       uart_rx,
    output wire       uart_tx,
    output reg  [7:0] rx_data,
    output reg        rx_valid,
    input  wire       rx_ready,
    input  wire [7:0] tx_data,
    input  wire       tx_valid,
    output wire       tx_ready
);
    wire [7:0] in_data;
    wire in_valid;

    hwgen_uart_rx #(.CLKS_PER_BIT(CLKS_PER_BIT)) receiver (
        .clk(clk), .rst(rst), .rx(uart_rx), .data(in_data), .valid(in_valid)
    );

    hwgen_uart_tx #(.CLKS_PER_BIT(CLKS_PER_BIT)) transmitter (
        .clk(clk), .rst(rst), .data(tx_data), .valid(tx_valid), .ready(tx_ready), .tx(uart_tx)
    );

    reg [7:0] mem [0:(1 << FIFO_AW) - 1];
    reg [FIFO_AW:0] wr_ptr, rd_ptr;   // one bit more than the address: full and empty differ in it
    wire empty = (wr_ptr == rd_ptr);
    wire full = (wr_ptr == {~rd_ptr[FIFO_AW], rd_ptr[FIFO_AW-1:0]});
    // Move the head into the output register when that is empty or being taken this clock.
    wire load = !empty && (!rx_valid || rx_ready);

    always @(posedge clk) begin
        if (in_valid && !full) mem[wr_ptr[FIFO_AW-1:0]] <= in_data;
        if (load) rx_data <= mem[rd_ptr[FIFO_AW-1:0]];
    end

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr   <= {(FIFO_AW + 1){1'b0}};
            rd_ptr   <= {(FIFO_AW + 1){1'b0}};
            rx_valid <= 1'b0;
        end else begin
            if (in_valid && !full) wr_ptr <= wr_ptr + 1'b1;
            if (load) rd_ptr <= rd_ptr + 1'b1;
            if (load) rx_valid <= 1'b1;
            else if (rx_ready) rx_valid <= 1'b0;
        end
    end
endmodule
