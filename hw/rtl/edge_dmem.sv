// Data SRAM: one 32-bit access per cycle with byte enables; read data is registered (available the cycle
// after the request). The host reads and writes it through DPI (ELF loading, HTIF system calls, the
// simulation's debugger); the debugger also reads the word the last store overwrote (its memory view shows
// the state before the instruction in writeback, whose store is already done).
module edge_dmem #(
  parameter logic [31:0] Base = 32'h9000_0000,
  parameter int unsigned Bytes = 16 * 1024 * 1024
) (
  input  logic        clk_i,
  input  logic        req_i,
  input  logic        we_i,
  input  logic [3:0]  be_i,
  input  logic [31:0] addr_i,
  input  logic [31:0] wdata_i,
  output logic [31:0] rdata_o
);
  localparam int unsigned Words = Bytes / 4;
  localparam int unsigned IndexWidth = $clog2(Words);

  logic [31:0] mem [Words];
  logic [31:0] offset, rdata_q, undo_word_q;
  logic [IndexWidth-1:0] index, undo_index_q;

  assign offset = addr_i - Base;
  assign index = offset[IndexWidth+1:2];

  always_ff @(posedge clk_i) begin
    if (req_i) begin
      if (we_i) begin
        for (int i = 0; i < 4; i++) if (be_i[i]) mem[index][8*i +: 8] <= wdata_i[8*i +: 8];
        undo_index_q <= index;
        undo_word_q <= mem[index];
      end else begin
        rdata_q <= mem[index];
      end
    end
  end
  assign rdata_o = rdata_q;

  export "DPI-C" function edge_dmem_write_byte;
  function automatic void edge_dmem_write_byte(input int unsigned addr, input byte unsigned data);
    int unsigned off = addr - Base;
    if (off < Bytes) mem[off[IndexWidth+1:2]][8*off[1:0] +: 8] = data;
  endfunction

  export "DPI-C" function edge_dmem_read_byte;
  function automatic byte unsigned edge_dmem_read_byte(input int unsigned addr);
    int unsigned off = addr - Base;
    return off < Bytes ? mem[off[IndexWidth+1:2]][8*off[1:0] +: 8] : 8'd0;
  endfunction

  // The last store: the address of the word it wrote and the word's value before it.
  export "DPI-C" function edge_dmem_last_store_addr;
  function automatic int unsigned edge_dmem_last_store_addr();
    return Base + 32'({undo_index_q, 2'b00});
  endfunction

  export "DPI-C" function edge_dmem_last_store_old;
  function automatic int unsigned edge_dmem_last_store_old();
    return undo_word_q;
  endfunction

  logic unused_offset;
  assign unused_offset = ^{offset[31:IndexWidth+2], offset[1:0]};
endmodule
