// Test stand-in for hwgen_shell with its ports: every byte received is sent back. Small, so the iCE40 flow
// test places and routes in seconds, through the WebAssembly tools too.
module hwgen_shell (
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
    reg [7:0] held;
    reg full;
    always @(posedge clk) begin
        if (rst) full <= 1'b0;
        else if (rx_valid && rx_ready) begin
            held <= rx_data;
            full <= 1'b1;
        end else if (tx_ready) full <= 1'b0;
    end
    assign rx_ready = !full;
    assign tx_data = held;
    assign tx_valid = full;
    assign idle = !full;
endmodule
