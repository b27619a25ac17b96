// First-word-fall-through FIFO: the head is on `rd_data` whenever `rd_valid`, popped by `rd_en`.
// Small depths only (activation queues): the storage is a register array read asynchronously.
// `count` lets the producer reserve room for writes already in flight.
module hwgen_fifo #(
    parameter WIDTH = 8,
    parameter DEPTH = 8,
    parameter AW = 3,    // address bits, >= 1, 2^AW >= DEPTH
    parameter CW = 4     // count bits, 2^CW > DEPTH
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             wr_en,
    input  wire [WIDTH-1:0] wr_data,
    input  wire             rd_en,
    output wire [WIDTH-1:0] rd_data,
    output wire             rd_valid,
    output reg  [CW-1:0]    count
);
    reg [WIDTH-1:0] mem [0:DEPTH-1];
    reg [AW-1:0] wr_ptr;
    reg [AW-1:0] rd_ptr;

    wire do_wr = wr_en && (count != DEPTH[CW-1:0]);
    wire do_rd = rd_en && (count != {CW{1'b0}});

    assign rd_data  = mem[rd_ptr];
    assign rd_valid = (count != {CW{1'b0}});

    always @(posedge clk) begin
        if (do_wr) mem[wr_ptr] <= wr_data;
    end

    always @(posedge clk) begin
        if (rst) begin
            wr_ptr <= {AW{1'b0}};
            rd_ptr <= {AW{1'b0}};
            count  <= {CW{1'b0}};
        end else begin
            if (do_wr) wr_ptr <= (wr_ptr == DEPTH[AW-1:0] - 1'b1 || DEPTH == 1) ? {AW{1'b0}} : wr_ptr + 1'b1;
            if (do_rd) rd_ptr <= (rd_ptr == DEPTH[AW-1:0] - 1'b1 || DEPTH == 1) ? {AW{1'b0}} : rd_ptr + 1'b1;
            count <= count + {{(CW-1){1'b0}}, do_wr} - {{(CW-1){1'b0}}, do_rd};
        end
    end
endmodule
