// Branch-and-decrement loop close (bdnz): the counter update and the taken decision. Fetch predicts every
// bdnz taken, so a loop iteration costs the bdnz itself and nothing more; only the exit mispredicts.
module edge_loop_unit (
  input  logic [31:0] counter_i,
  output logic [31:0] counter_o,
  output logic        taken_o
);
  assign counter_o = counter_i - 32'd1;
  assign taken_o   = counter_o != 32'd0;
endmodule
