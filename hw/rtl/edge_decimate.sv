// Address displacement of the decimating load (xdec dlb.m*): offset field k of the packed offsets word
// (log2(M) bits, LSB first; fields past bit 31 read as zero) plus (k >> log2 N) * M, the static position of
// its group inside the word (riscv_ext/golden.py dlb_address). sel = funct7 = log2 N << 4 | k.
module edge_decimate (
  input  logic [31:0] offsets_i,
  input  logic [6:0]  sel_i,
  input  logic [2:0]  bits_i,     // log2(M): 2, 3 or 4
  output logic [31:0] disp_o
);
  logic [3:0] k;
  logic [1:0] log2_n;
  logic [5:0] shift;
  logic [3:0] field, group;
  logic unused_sel;

  assign k = sel_i[3:0];
  assign log2_n = sel_i[5:4];
  assign unused_sel = sel_i[6];
  assign shift = 6'(k) * 6'(bits_i);
  assign field = (shift[5] ? 4'd0 : 4'(offsets_i >> shift[4:0])) & ~(4'hF << bits_i);
  assign group = k >> log2_n;
  assign disp_o = 32'({group, 4'b0} >> (3'd4 - bits_i)) + 32'(field);
endmodule
