// Simple dual-port RAM: one write port, one read port with a registered output, no reset, so synthesis maps
// it to block RAM (an iCE40 EBR, a Xilinx RAMB18/36). A read of the address being written returns the old word.
module hwgen_sdp_ram #(
    parameter WIDTH = 32,
    parameter AW = 8     // 2^AW words
) (
    input  wire             clk,
    input  wire             we,
    input  wire [AW-1:0]    waddr,
    input  wire [WIDTH-1:0] wdata,
    input  wire [AW-1:0]    raddr,
    output reg  [WIDTH-1:0] rdata
);
    reg [WIDTH-1:0] mem [0:(1 << AW) - 1];

    always @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        rdata <= mem[raddr];
    end
endmodule
