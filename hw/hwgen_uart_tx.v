// UART transmitter, 8N1, LSB first: takes a byte when `ready` (valid and ready in the same clock), then holds
// the start bit, eight data bits and the stop bit for CLKS_PER_BIT clocks each. The line idles high.
module hwgen_uart_tx #(
    parameter CLKS_PER_BIT = 33   // clock / baud, at least 2
) (
    input  wire       clk,
    input  wire       rst,
    input  wire [7:0] data,
    input  wire       valid,
    output wire       ready,
    output reg        tx
);
    localparam CW = $clog2(CLKS_PER_BIT);
    localparam integer FULL_N = CLKS_PER_BIT - 1;
    localparam [CW-1:0] FULL = FULL_N[CW-1:0];

    reg [8:0] shift;     // the data bits, then the stop bit (ones shift in behind)
    reg [3:0] left;      // bits still on the line, the current one included
    reg [CW-1:0] cnt;

    assign ready = (left == 4'd0);

    always @(posedge clk) begin
        if (rst) begin
            tx    <= 1'b1;
            shift <= 9'h1ff;
            left  <= 4'd0;
            cnt   <= {CW{1'b0}};
        end else if (left == 4'd0) begin
            if (valid) begin
                tx    <= 1'b0;
                shift <= {1'b1, data};
                left  <= 4'd10;
                cnt   <= FULL;
            end
        end else if (cnt != {CW{1'b0}}) begin
            cnt <= cnt - 1'b1;
        end else begin
            tx    <= shift[0];
            shift <= {1'b1, shift[8:1]};
            left  <= left - 1'b1;
            cnt   <= FULL;
        end
    end
endmodule
