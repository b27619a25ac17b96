// UART receiver, 8N1, LSB first. The line comes from another clock domain (the USB-UART chip), so it passes two
// flops before anything looks at it; each bit is sampled once, in its middle, timed from the start bit's falling
// edge, which tolerates a baud mismatch of a few percent. `valid` pulses for one clock per byte. A byte whose
// stop bit is low (a framing error: wrong baud, or a break) is dropped, and the receiver waits for the line to
// go high before looking for the next start bit; the link's CRC catches what was lost.
module hwgen_uart_rx #(
    parameter CLKS_PER_BIT = 33   // clock / baud, at least 4
) (
    input  wire       clk,
    input  wire       rst,
    input  wire       rx,
    output reg  [7:0] data,
    output reg        valid
);
    localparam CW = $clog2(CLKS_PER_BIT);
    localparam integer FULL_N = CLKS_PER_BIT - 1;
    localparam [CW-1:0] FULL = FULL_N[CW-1:0];
    localparam integer HALF_N = CLKS_PER_BIT / 2 - 1;
    localparam [CW-1:0] HALF = HALF_N[CW-1:0];
    localparam [2:0] IDLE = 3'd0, START = 3'd1, BITS = 3'd2, STOP = 3'd3, BREAK = 3'd4;

    reg rx_meta, rx_sync;
    reg [2:0] state;
    reg [CW-1:0] cnt;
    reg [2:0] bitn;
    reg [7:0] shift;

    always @(posedge clk) begin
        if (rst) begin
            rx_meta <= 1'b1;
            rx_sync <= 1'b1;
        end else begin
            rx_meta <= rx;
            rx_sync <= rx_meta;
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            state <= IDLE;
            cnt   <= {CW{1'b0}};
            bitn  <= 3'd0;
            shift <= 8'd0;
            data  <= 8'd0;
            valid <= 1'b0;
        end else begin
            valid <= 1'b0;
            if (state != IDLE && state != BREAK && cnt != {CW{1'b0}}) begin
                cnt <= cnt - 1'b1;
            end else begin
                case (state)
                    IDLE: if (!rx_sync) begin
                        state <= START;
                        cnt   <= HALF;
                    end
                    START: if (rx_sync) begin
                        state <= IDLE;   // a glitch, not a start bit
                    end else begin
                        state <= BITS;
                        cnt   <= FULL;
                        bitn  <= 3'd0;
                    end
                    BITS: begin
                        shift <= {rx_sync, shift[7:1]};
                        cnt   <= FULL;
                        bitn  <= bitn + 1'b1;
                        if (bitn == 3'd7) state <= STOP;
                    end
                    STOP: if (rx_sync) begin
                        data  <= shift;
                        valid <= 1'b1;
                        state <= IDLE;
                    end else begin
                        state <= BREAK;
                    end
                    default: if (rx_sync) state <= IDLE;   // BREAK
                endcase
            end
        end
    end
endmodule
