// SoC top: the edge core with its instruction and data SRAMs. Stores to the ELF's `tohost` word are shown to
// the host (HTIF), which answers through the data SRAM's DPI port.
module edge_soc
  import edge_core_pkg::*;
#(
  parameter logic [31:0] ImemBase = 32'h8000_0000,
  parameter int unsigned ImemBytes = 512 * 1024,
  parameter logic [31:0] DmemBase = 32'h9000_0000,
  parameter int unsigned DmemBytes = 16 * 1024 * 1024,
  parameter bit EnableXdec = 1'b1  // the core with the sparse extension (0: the xedge core)
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic [31:0] tohost_addr_i,
  output logic        tohost_we_o,
  output logic [31:0] tohost_wdata_o,
  output logic        retire_valid_o,
  output logic [31:0] retire_pc_o,
  output logic [31:0] retire_insn_o,
  output logic        retire_compressed_o,
  output logic        retire_rd_we_o,
  output logic [4:0]  retire_rd_o,
  output logic [31:0] retire_rd_wdata_o,
  output logic        retire_base_we_o,
  output logic [4:0]  retire_base_o,
  output logic [31:0] retire_base_wdata_o,
  output logic        retire_mem_o,
  output logic        retire_mem_we_o,
  output logic [1:0]  retire_mem_size_o,
  output logic [31:0] retire_mem_addr_o,
  output logic [31:0] retire_mem_wdata_o
);
  logic [31:0] imem_addr, imem_rdata, dmem_addr, dmem_wdata, dmem_rdata;
  logic dmem_req, dmem_we;
  logic [3:0] dmem_be;

  edge_core #(
    .BootAddr (ImemBase),
    .ImemBase (ImemBase),
    .ImemBytes(ImemBytes),
    .DmemBase (DmemBase),
    .DmemBytes(DmemBytes),
    .EnableXdec(EnableXdec)
  ) u_core (
    .clk_i,
    .rst_ni,
    .imem_addr_o (imem_addr),
    .imem_rdata_i(imem_rdata),
    .dmem_req_o  (dmem_req),
    .dmem_we_o   (dmem_we),
    .dmem_be_o   (dmem_be),
    .dmem_addr_o (dmem_addr),
    .dmem_wdata_o(dmem_wdata),
    .dmem_rdata_i(dmem_rdata),
    .retire_valid_o,
    .retire_pc_o,
    .retire_insn_o,
    .retire_compressed_o,
    .retire_rd_we_o,
    .retire_rd_o,
    .retire_rd_wdata_o,
    .retire_base_we_o,
    .retire_base_o,
    .retire_base_wdata_o,
    .retire_mem_o,
    .retire_mem_we_o,
    .retire_mem_size_o,
    .retire_mem_addr_o,
    .retire_mem_wdata_o
  );

  edge_imem #(.Base(ImemBase), .Bytes(ImemBytes)) u_imem (
    .addr_i (imem_addr),
    .rdata_o(imem_rdata)
  );

  edge_dmem #(.Base(DmemBase), .Bytes(DmemBytes)) u_dmem (
    .clk_i  (clk_i),
    .req_i  (dmem_req),
    .we_i   (dmem_we),
    .be_i   (dmem_be),
    .addr_i (dmem_addr),
    .wdata_i(dmem_wdata),
    .rdata_o(dmem_rdata)
  );

  assign tohost_we_o = dmem_req && dmem_we && dmem_addr == tohost_addr_i && dmem_be[0];
  assign tohost_wdata_o = dmem_wdata;
endmodule
