// SoC top: the edge core with its instruction memory (code flash, with a data read port), data SRAM and
// CLINT (machine timer, software interrupt). Stores to the ELF's `tohost` word are shown to the host (HTIF),
// which answers through the data SRAM's DPI port.
module edge_soc
  import edge_core_pkg::*;
#(
  parameter logic [31:0] ImemBase = 32'h8000_0000,
  parameter int unsigned ImemBytes = 512 * 1024,
  parameter logic [31:0] DmemBase = 32'h9000_0000,
  parameter int unsigned DmemBytes = 16 * 1024 * 1024,
  parameter logic [31:0] ClintBase = 32'h0200_0000,
  parameter int unsigned TimerDivider = 100,       // core cycles per mtime tick
  parameter int unsigned ImemLoadWaitStates = 1,   // extra cycles of a data load from IMEM
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
  output logic [31:0] retire_mem_wdata_o,
  output logic        retire_csr_we_o,
  output logic [11:0] retire_csr_addr_o,
  output logic [31:0] retire_csr_wdata_o,
  output logic        retire_mstatush_we_o
);
  localparam int unsigned ClintBytes = 32'h000C_0000;
  logic [31:0] imem_addr, imem_rdata, data_addr, data_wdata, dmem_rdata, imem_data_rdata, clint_rdata;
  logic dmem_req, imem_data_req, clint_req, data_we, timer_irq, software_irq;
  logic [3:0] data_be;
  logic [63:0] mtime;

  edge_core #(
    .BootAddr (ImemBase),
    .ImemBase (ImemBase),
    .ImemBytes(ImemBytes),
    .DmemBase (DmemBase),
    .DmemBytes(DmemBytes),
    .ClintBase(ClintBase),
    .ClintBytes(ClintBytes),
    .ImemLoadWaitStates(ImemLoadWaitStates),
    .EnableXdec(EnableXdec)
  ) u_core (
    .clk_i,
    .rst_ni,
    .imem_addr_o (imem_addr),
    .imem_rdata_i(imem_rdata),
    .dmem_req_o       (dmem_req),
    .imem_data_req_o  (imem_data_req),
    .clint_req_o      (clint_req),
    .data_we_o        (data_we),
    .data_be_o        (data_be),
    .data_addr_o      (data_addr),
    .data_wdata_o     (data_wdata),
    .dmem_rdata_i     (dmem_rdata),
    .imem_data_rdata_i(imem_data_rdata),
    .clint_rdata_i    (clint_rdata),
    .mtime_i          (mtime),
    .irq_timer_i      (timer_irq),
    .irq_software_i   (software_irq),
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
    .retire_mem_wdata_o,
    .retire_csr_we_o,
    .retire_csr_addr_o,
    .retire_csr_wdata_o,
    .retire_mstatush_we_o
  );

  edge_imem #(.Base(ImemBase), .Bytes(ImemBytes)) u_imem (
    .clk_i       (clk_i),
    .addr_i      (imem_addr),
    .rdata_o     (imem_rdata),
    .data_req_i  (imem_data_req),
    .data_addr_i (data_addr),
    .data_rdata_o(imem_data_rdata)
  );

  edge_clint #(.Base(ClintBase), .TimerDivider(TimerDivider)) u_clint (
    .clk_i         (clk_i),
    .rst_ni        (rst_ni),
    .req_i         (clint_req),
    .we_i          (data_we),
    .be_i          (data_be),
    .addr_i        (data_addr),
    .wdata_i       (data_wdata),
    .rdata_o       (clint_rdata),
    .mtime_o       (mtime),
    .timer_irq_o   (timer_irq),
    .software_irq_o(software_irq)
  );

  edge_dmem #(.Base(DmemBase), .Bytes(DmemBytes)) u_dmem (
    .clk_i  (clk_i),
    .req_i  (dmem_req),
    .we_i   (data_we),
    .be_i   (data_be),
    .addr_i (data_addr),
    .wdata_i(data_wdata),
    .rdata_o(dmem_rdata)
  );

  assign tohost_we_o = dmem_req && data_we && data_addr == tohost_addr_i && data_be[0];
  assign tohost_wdata_o = data_wdata;
endmodule
