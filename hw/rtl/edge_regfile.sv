// Register file: 31 x 32-bit (x0 is zero), three read ports (the dot product reads its accumulator) and
// two write ports (post-increment memory instructions write the loaded value and the new base). Write
// port A wins when both write the same register.
module edge_regfile (
  input  logic        clk_i,
  input  logic [4:0]  raddr_a_i,
  input  logic [4:0]  raddr_b_i,
  input  logic [4:0]  raddr_c_i,
  output logic [31:0] rdata_a_o,
  output logic [31:0] rdata_b_o,
  output logic [31:0] rdata_c_o,
  input  logic        we_a_i,
  input  logic [4:0]  waddr_a_i,
  input  logic [31:0] wdata_a_i,
  input  logic        we_b_i,
  input  logic [4:0]  waddr_b_i,
  input  logic [31:0] wdata_b_i
);
  logic [31:0] regs_q [32];

  always_ff @(posedge clk_i) begin
    if (we_b_i && !(we_a_i && waddr_a_i == waddr_b_i)) regs_q[waddr_b_i] <= wdata_b_i;
    if (we_a_i) regs_q[waddr_a_i] <= wdata_a_i;
  end

  assign rdata_a_o = raddr_a_i == 5'd0 ? 32'd0 : regs_q[raddr_a_i];
  assign rdata_b_o = raddr_b_i == 5'd0 ? 32'd0 : regs_q[raddr_b_i];
  assign rdata_c_o = raddr_c_i == 5'd0 ? 32'd0 : regs_q[raddr_c_i];

`ifdef VERILATOR
  // The simulation's view of the registers (hw/sim/edge_core_driver.cpp: Python's RTLCore, the debugger);
  // synthesis never sees it.
  export "DPI-C" function edge_regfile_read;
  function automatic int unsigned edge_regfile_read(input int unsigned index);
    return index == 0 || index > 31 ? 32'd0 : regs_q[index[4:0]];
  endfunction
`endif
endmodule
