// 4-way int8 SIMD dot product with accumulate (sdotsp.b / sdotusp.b): four 8x8 multipliers, an adder
// tree and the accumulator add, in one cycle.
module edge_dotp (
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  input  logic [31:0] acc_i,
  input  logic        a_unsigned_i,
  output logic [31:0] result_o
);
  logic signed [17:0] prod [4];
  logic signed [19:0] sum;

  for (genvar i = 0; i < 4; i++) begin : g_lane
    logic signed [8:0] a_ext, b_ext;
    assign a_ext = {a_unsigned_i ? 1'b0 : a_i[8*i+7], a_i[8*i +: 8]};
    assign b_ext = {b_i[8*i+7], b_i[8*i +: 8]};
    assign prod[i] = a_ext * b_ext;
  end

  assign sum = 20'(prod[0]) + 20'(prod[1]) + 20'(prod[2]) + 20'(prod[3]);
  assign result_o = acc_i + {{12{sum[19]}}, sum};
endmodule
