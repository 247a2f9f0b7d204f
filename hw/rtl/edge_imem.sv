// Instruction SRAM: single-cycle read of the two halfwords at an address (two interleaved halfword banks, so
// a 32-bit instruction at any halfword boundary is fetched in one cycle). Loaded by the host through DPI.
module edge_imem #(
  parameter logic [31:0] Base = 32'h8000_0000,
  parameter int unsigned Bytes = 512 * 1024
) (
  input  logic [31:0] addr_i,
  output logic [31:0] rdata_o
);
  localparam int unsigned Halfwords = Bytes / 2;
  localparam int unsigned IndexWidth = $clog2(Halfwords);

  logic [15:0] mem [Halfwords];
  logic [31:0] offset;
  logic [IndexWidth-1:0] index_lo, index_hi;

  assign offset = addr_i - Base;
  assign index_lo = offset[IndexWidth:1];
  assign index_hi = index_lo + 1'b1;
  assign rdata_o = {mem[index_hi], mem[index_lo]};

  export "DPI-C" function edge_imem_write_byte;
  function automatic void edge_imem_write_byte(input int unsigned addr, input byte unsigned data);
    int unsigned off = addr - Base;
    if (off < Bytes) begin
      if (off[0]) mem[off[IndexWidth:1]][15:8] = data;
      else mem[off[IndexWidth:1]][7:0] = data;
    end
  endfunction

  logic unused_offset;
  assign unused_offset = ^{offset[31:IndexWidth+1], offset[0]};
endmodule
