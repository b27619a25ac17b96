// Test top: the shell behind hwgen_uart_link, spoken to through a host-side UART, so the bytes of
// sim/byte_harness.cpp cross two serial lines bit by bit. Its ports are the shell's, so the byte harness drives it.
// HOST_CLKS_PER_BIT may differ from CLKS_PER_BIT: a host whose baud is a few percent off the board's.
module uart_loop #(
    parameter CLKS_PER_BIT = 8,
    parameter HOST_CLKS_PER_BIT = 8,
    parameter FIFO_AW = 6
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [7:0] rx_data,
    input  wire       rx_valid,
    output wire       rx_ready,
    output wire [7:0] tx_data,
    output wire       tx_valid,
    input  wire       tx_ready,
    output wire       idle
);
    wire down, up;   // host → board, board → host
    wire [7:0] s_rx_data, s_tx_data;
    wire s_rx_valid, s_rx_ready, s_tx_valid, s_tx_ready, s_idle;

    hwgen_uart_tx #(.CLKS_PER_BIT(HOST_CLKS_PER_BIT)) host_tx (
        .clk(clk), .rst(rst), .data(rx_data), .valid(rx_valid), .ready(rx_ready), .tx(down)
    );
    hwgen_uart_link #(.CLKS_PER_BIT(CLKS_PER_BIT), .FIFO_AW(FIFO_AW)) link (
        .clk(clk), .rst(rst), .uart_rx(down), .uart_tx(up),
        .rx_data(s_rx_data), .rx_valid(s_rx_valid), .rx_ready(s_rx_ready),
        .tx_data(s_tx_data), .tx_valid(s_tx_valid), .tx_ready(s_tx_ready)
    );
    hwgen_shell shell (
        .clk(clk), .rst(rst),
        .rx_data(s_rx_data), .rx_valid(s_rx_valid), .rx_ready(s_rx_ready),
        .tx_data(s_tx_data), .tx_valid(s_tx_valid), .tx_ready(s_tx_ready), .idle(s_idle)
    );
    hwgen_uart_rx #(.CLKS_PER_BIT(HOST_CLKS_PER_BIT)) host_rx (
        .clk(clk), .rst(rst), .rx(up), .data(tx_data), .valid(tx_valid)
    );

    // Idle once both lines stayed high for more than a byte's time with the shell idle: nothing is on the wire,
    // in the link's FIFO or in a receiver (the harness then waits for more input, or ends).
    localparam integer QUIET_N = 12 * (CLKS_PER_BIT > HOST_CLKS_PER_BIT ? CLKS_PER_BIT : HOST_CLKS_PER_BIT);
    localparam QW = $clog2(QUIET_N + 1);
    localparam [QW-1:0] QUIET = QUIET_N[QW-1:0];
    reg [QW-1:0] quiet;
    always @(posedge clk) begin
        if (rst || !down || !up || !s_idle || !rx_ready) quiet <= {QW{1'b0}};
        else if (quiet != QUIET) quiet <= quiet + 1'b1;
    end
    assign idle = (quiet == QUIET);

    /* verilator lint_off UNUSEDSIGNAL */
    wire unused = tx_ready;   // the harness always takes the host's bytes: a UART cannot wait
    /* verilator lint_on UNUSEDSIGNAL */
endmodule
