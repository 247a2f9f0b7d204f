// Instruction memory (the MCU's code flash): two interleaved halfword banks, so a 32-bit instruction at any
// halfword boundary is fetched in one cycle, plus a data read port for constant tables (weights) the firmware
// reads straight from code memory: a word per request, registered like the data SRAM (the core adds the
// platform's wait states before it issues the request). No write port: stores to IMEM fault. Loaded (and read
// by the simulation's debugger) by the host through DPI.
module edge_imem #(
  parameter logic [31:0] Base = 32'h8000_0000,
  parameter int unsigned Bytes = 512 * 1024
) (
  input  logic        clk_i,
  input  logic [31:0] addr_i,
  output logic [31:0] rdata_o,
  input  logic        data_req_i,
  input  logic [31:0] data_addr_i,
  output logic [31:0] data_rdata_o
);
  localparam int unsigned Halfwords = Bytes / 2;
  localparam int unsigned IndexWidth = $clog2(Halfwords);

  logic [15:0] mem [Halfwords];
  logic [31:0] offset, data_offset, data_q;
  logic [IndexWidth-1:0] index_lo, index_hi, data_index;

  assign offset = addr_i - Base;
  assign index_lo = offset[IndexWidth:1];
  assign index_hi = index_lo + 1'b1;
  assign rdata_o = {mem[index_hi], mem[index_lo]};

  assign data_offset = data_addr_i - Base;
  assign data_index = {data_offset[IndexWidth:2], 1'b0};
  always_ff @(posedge clk_i) begin
    if (data_req_i) data_q <= {mem[data_index + 1'b1], mem[data_index]};
  end
  assign data_rdata_o = data_q;

  export "DPI-C" function edge_imem_write_byte;
  function automatic void edge_imem_write_byte(input int unsigned addr, input byte unsigned data);
    int unsigned off = addr - Base;
    if (off < Bytes) begin
      if (off[0]) mem[off[IndexWidth:1]][15:8] = data;
      else mem[off[IndexWidth:1]][7:0] = data;
    end
  endfunction

  export "DPI-C" function edge_imem_read_byte;
  function automatic byte unsigned edge_imem_read_byte(input int unsigned addr);
    int unsigned off = addr - Base;
    if (off >= Bytes) return 8'd0;
    return off[0] ? mem[off[IndexWidth:1]][15:8] : mem[off[IndexWidth:1]][7:0];
  endfunction

  logic unused_offset;
  assign unused_offset = ^{offset[31:IndexWidth+1], offset[0], data_offset[31:IndexWidth+1], data_offset[1:0]};
endmodule
