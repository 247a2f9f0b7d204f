// edge core: in-order, single-issue RV32IMC + Zicsr + xedge (+ xdec), three stages.
//   IF  fetches from the single-cycle instruction SRAM, expands compressed instructions and statically
//       predicts jal and bdnz taken (their targets are known at fetch), everything else not taken.
//   EX  decodes, reads registers (forwarded from WB), executes (ALU, branch, multiply/divide, SIMD dot
//       product, CSRs) and issues the data access; taken branches and jalr redirect fetch (one bubble).
//       Interrupts are taken here, in place of the instruction in EX (mepc = its pc); wfi waits here until
//       an enabled interrupt is pending, then retires (the interrupt is taken at the next instruction).
//       A load from IMEM (constant tables in the code memory) waits ImemLoadWaitStates cycles in EX first.
//   WB  receives load data from the synchronous data SRAM and writes up to two registers; instructions
//       retire here. A load's value is not forwarded: a dependent instruction right behind it stalls a cycle.
// Data accesses go to one of three targets: DMEM (load, store), IMEM (load only) and the CLINT (load, store);
// any other address, a store to IMEM or a fetch outside IMEM is an access fault (the platform's map, which
// crt0 also programs into Spike's PMP so both simulators fault alike).
module edge_core
  import edge_core_pkg::*;
  import edge_insn_pkg::*;
#(
  parameter logic [31:0] BootAddr = 32'h8000_0000,
  parameter logic [31:0] ImemBase = 32'h8000_0000,
  parameter int unsigned ImemBytes = 512 * 1024,
  parameter logic [31:0] DmemBase = 32'h9000_0000,
  parameter int unsigned DmemBytes = 16 * 1024 * 1024,
  parameter logic [31:0] ClintBase = 32'h0200_0000,
  parameter int unsigned ClintBytes = 32'h000C_0000,
  parameter int unsigned ImemLoadWaitStates = 1,  // extra cycles of a data load from IMEM
  parameter bit EnableXedge = 1'b1,  // 0: RV32IMC only (the baseline for the extension's area)
  parameter bit EnableXdec = 1'b1    // 0: no decimating load (the xedge core, baseline of the sparse extension)
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  // instruction SRAM: the two halfwords at imem_addr_o, read in the same cycle
  output logic [31:0] imem_addr_o,
  input  logic [31:0] imem_rdata_i,
  // data bus: one access per cycle to one target (its request line); read data arrives the next cycle
  output logic        dmem_req_o,
  output logic        imem_data_req_o,
  output logic        clint_req_o,
  output logic        data_we_o,
  output logic [3:0]  data_be_o,
  output logic [31:0] data_addr_o,
  output logic [31:0] data_wdata_o,
  input  logic [31:0] dmem_rdata_i,
  input  logic [31:0] imem_data_rdata_i,
  input  logic [31:0] clint_rdata_i,
  // the CLINT's timer and interrupt lines
  input  logic [63:0] mtime_i,
  input  logic        irq_timer_i,
  input  logic        irq_software_i,
  // retirement, for the commit trace (Spike --log-commits format)
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
  output logic        retire_csr_we_o,       // a CSR write as Spike logs it: the CSR's number, its value after
  output logic [11:0] retire_csr_addr_o,     // the write (edge_csr, trace_*)
  output logic [31:0] retire_csr_wdata_o,
  output logic        retire_mstatush_we_o   // mret: mstatush (0) too, logged after mstatus
);
  // ---------------------------------------------------------------- IF
  logic [31:0] pc_q, pc_d, fetch_raw, fetch_expanded, fetch_c_expanded, seq_pc, pred_target;
  logic fetch_is_c, fetch_c_illegal, fetch_fault, pred_jal, pred_bdnz, pred_taken;
  logic [31:0] pred_jal_off, pred_bdnz_off;

  logic        id_valid_q, id_is_c_q, id_pred_taken_q, id_c_illegal_q, id_fetch_fault_q;
  logic [31:0] id_pc_q, id_instr_q, id_raw_q;

  assign imem_addr_o = pc_q;
  assign fetch_raw = imem_rdata_i;
  assign fetch_is_c = fetch_raw[1:0] != 2'b11;

  edge_compressed_decoder u_compressed_decoder (
    .instr_i  (fetch_raw[15:0]),
    .instr_o  (fetch_c_expanded),
    .illegal_o(fetch_c_illegal)
  );

  assign fetch_expanded = fetch_is_c ? fetch_c_expanded : fetch_raw;
  assign fetch_fault = (pc_q - ImemBase) >= ImemBytes;
  assign pred_jal = fetch_expanded[6:0] == 7'b1101111;
  xop_e fetch_xop;
  logic unused_fetch_cls;
  logic [2:0] fetch_cls;

  edge_xedge_decoder u_fetch_xedge_decoder (
    .instr_i   (fetch_expanded),
    .xop_o     (fetch_xop),
    .cls_simd_o(fetch_cls[0]),
    .cls_mem_o (fetch_cls[1]),
    .cls_loop_o(fetch_cls[2])
  );
  assign unused_fetch_cls = ^fetch_cls;
  assign pred_bdnz = EnableXedge && fetch_xop == XOP_BDNZ;
  assign pred_jal_off = {{11{fetch_expanded[31]}}, fetch_expanded[31], fetch_expanded[19:12],
                         fetch_expanded[20], fetch_expanded[30:21], 1'b0};
  assign pred_bdnz_off = {{19{fetch_expanded[31]}}, fetch_expanded[31], fetch_expanded[7],
                          fetch_expanded[30:25], fetch_expanded[11:8], 1'b0};
  assign pred_taken = !fetch_fault && !(fetch_is_c && fetch_c_illegal) && (pred_jal || pred_bdnz);
  assign pred_target = pc_q + (pred_jal ? pred_jal_off : pred_bdnz_off);
  assign seq_pc = pc_q + (fetch_is_c ? 32'd2 : 32'd4);

  // ---------------------------------------------------------------- EX
  decoded_t dec;
  logic [31:0] rf_rs1, rf_rs2, rf_rd, rs1_val, rs2_val, rd_val, op_a, op_b;
  logic [31:0] alu_result, dotp_result, muldiv_result, csr_rdata, loop_counter, result, base_val;
  logic [31:0] pc_next, branch_target, jalr_target, mem_addr, redirect_pc;
  logic muldiv_ready, loop_taken, csr_illegal, csr_write, branch_cond, illegal_insn;
  logic csr_trace_we, csr_trace_mstatush;
  logic [11:0] csr_trace_addr;
  logic [31:0] csr_trace_wdata;
  logic load_use, muldiv_wait, stall_ex, ex_fire, ex_trap, ex_commit, redirect;
  logic mem_misaligned, mem_outside, mem_fault, in_dmem, in_imem, in_clint;
  logic irq_pending, irq_wake, take_irq, wfi_wait, wfi_slept_q, imem_wait;
  logic [4:0] trap_cause, irq_cause;
  logic [31:0] trap_tval, trap_vector;
  logic [31:0] mtvec, mepc;
  localparam int unsigned WaitWidth = ImemLoadWaitStates > 0 ? $clog2(ImemLoadWaitStates + 1) : 1;
  logic [WaitWidth-1:0] imem_wait_q;

  logic        wb_valid_q, wb_is_c_q, wb_rd_we_q, wb_base_we_q, wb_load_q, wb_store_q, wb_unsigned_q;
  logic        wb_cls_simd_q, wb_cls_mem_q, wb_cls_loop_q, wb_writes_instret_q, wb_dlb_merge_q;
  logic [31:0] wb_loaded, wb_load_value, dlb_disp, wb_rdata;
  logic        wb_from_imem_q, wb_from_clint_q, wb_csr_we_q, wb_mstatush_we_q;
  logic [11:0] wb_csr_addr_q;
  logic [31:0] wb_csr_wdata_q;
  logic [1:0]  wb_size_q;
  logic [4:0]  wb_rd_q, wb_base_q;
  logic [31:0] wb_pc_q, wb_raw_q, wb_result_q, wb_base_val_q, wb_mem_addr_q, wb_store_data_q;

  edge_decoder #(.EnableXedge(EnableXedge), .EnableXdec(EnableXdec)) u_decoder (
    .instr_i(id_instr_q),
    .dec_o  (dec)
  );

  edge_regfile u_regfile (
    .clk_i    (clk_i),
    .raddr_a_i(dec.rs1),
    .raddr_b_i(dec.rs2),
    .raddr_c_i(dec.rd),
    .rdata_a_o(rf_rs1),
    .rdata_b_o(rf_rs2),
    .rdata_c_o(rf_rd),
    .we_a_i   (wb_valid_q && wb_rd_we_q),
    .waddr_a_i(wb_rd_q),
    .wdata_a_i(wb_load_q ? wb_load_value : wb_result_q),
    .we_b_i   (wb_valid_q && wb_base_we_q),
    .waddr_b_i(wb_base_q),
    .wdata_b_i(wb_base_val_q)
  );

  function automatic logic [31:0] load_data(logic [31:0] word, logic [1:0] offset, logic [1:0] size,
                                            logic is_unsigned);
    logic [31:0] shifted;
    shifted = word >> {offset, 3'b000};
    unique case (size)
      2'd0: load_data = {{24{!is_unsigned && shifted[7]}}, shifted[7:0]};
      2'd1: load_data = {{16{!is_unsigned && shifted[15]}}, shifted[15:0]};
      default: load_data = shifted;
    endcase
  endfunction

  // A load's register value in WB; the decimating load shifts its byte in on top of the old rd.
  assign wb_rdata = wb_from_imem_q ? imem_data_rdata_i : (wb_from_clint_q ? clint_rdata_i : dmem_rdata_i);
  assign wb_loaded = load_data(wb_rdata, wb_mem_addr_q[1:0], wb_size_q, wb_unsigned_q);
  assign wb_load_value = EnableXdec && wb_dlb_merge_q ? {wb_loaded[7:0], wb_result_q[31:8]} : wb_loaded;

  // Forwarding from WB (its writes land at the end of this cycle). Write port A wins, as in the register file.
  function automatic logic [31:0] forward(logic [4:0] r, logic [31:0] rf_value);
    if (r != 5'd0 && wb_valid_q && wb_rd_we_q && wb_rd_q == r) forward = wb_result_q;
    else if (r != 5'd0 && wb_valid_q && wb_base_we_q && wb_base_q == r) forward = wb_base_val_q;
    else forward = rf_value;
  endfunction

  assign rs1_val = forward(dec.rs1, rf_rs1);
  assign rs2_val = forward(dec.rs2, rf_rs2);
  assign rd_val = forward(dec.rd, rf_rd);

  assign load_use = id_valid_q && wb_valid_q && wb_load_q && wb_rd_we_q && wb_rd_q != 5'd0 &&
                    ((dec.use_rs1 && dec.rs1 == wb_rd_q) || (dec.use_rs2 && dec.rs2 == wb_rd_q) ||
                     (dec.use_rd && dec.rd == wb_rd_q));

  assign op_a = dec.op_a == OpAPc ? id_pc_q : (dec.op_a == OpAZero ? 32'd0 : rs1_val);
  assign op_b = dec.op_b == OpBImm ? dec.imm : (dec.op_b == OpBDlb ? dlb_disp : rs2_val);

  if (EnableXdec) begin : g_xdec
    edge_decimate u_decimate (
      .offsets_i(rs2_val),
      .sel_i    (id_instr_q[31:25]),
      .bits_i   (dec.dlb_bits),
      .disp_o   (dlb_disp)
    );
  end else begin : g_no_xdec
    logic [2:0] unused_dlb_bits;
    assign unused_dlb_bits = dec.dlb_bits;
    assign dlb_disp = '0;
  end

  edge_alu u_alu (
    .op_i    (dec.alu_op),
    .a_i     (op_a),
    .b_i     (op_b),
    .result_o(alu_result)
  );

  edge_dotp u_dotp (
    .a_i         (rs1_val),
    .b_i         (rs2_val),
    .acc_i       (rd_val),
    .a_unsigned_i(dec.dotp_unsigned_a),
    .result_o    (dotp_result)
  );

  edge_muldiv u_muldiv (
    .clk_i   (clk_i),
    .rst_ni  (rst_ni),
    .valid_i (id_valid_q && dec.muldiv && !load_use),
    .op_i    (dec.muldiv_op),
    .a_i     (rs1_val),
    .b_i     (rs2_val),
    .result_o(muldiv_result),
    .ready_o (muldiv_ready)
  );

  edge_loop_unit u_loop_unit (
    .counter_i(rs1_val),
    .counter_o(loop_counter),
    .taken_o  (loop_taken)
  );

  assign csr_write = dec.csr_op == 2'd1 || dec.rs1 != 5'd0;

  edge_csr #(
    .ImemBase  (ImemBase),
    .ImemBytes (ImemBytes),
    .DmemBase  (DmemBase),
    .DmemBytes (DmemBytes),
    .ClintBase (ClintBase),
    .ClintBytes(ClintBytes)
  ) u_csr (
    .clk_i           (clk_i),
    .rst_ni          (rst_ni),
    .access_i        (ex_commit && dec.csr),
    .addr_i          (id_instr_q[31:20]),
    .op_i            (dec.csr_op),
    .write_i         (csr_write),
    .wdata_i         (dec.csr_imm ? {27'd0, dec.rs1} : rs1_val),
    .rdata_o         (csr_rdata),
    .illegal_o       (csr_illegal),
    .trace_we_o      (csr_trace_we),
    .trace_addr_o    (csr_trace_addr),
    .trace_wdata_o   (csr_trace_wdata),
    .trace_mstatush_o(csr_trace_mstatush),
    .trap_i          (take_irq || (ex_fire && ex_trap)),
    .trap_irq_i      (take_irq),
    .trap_cause_i    (take_irq ? irq_cause : trap_cause),
    .trap_pc_i       (id_pc_q),
    .trap_tval_i     (take_irq ? 32'd0 : trap_tval),
    .mret_i          (ex_commit && dec.mret),
    .mtvec_o         (mtvec),
    .mepc_o          (mepc),
    .mtime_i         (mtime_i),
    .irq_timer_i     (irq_timer_i),
    .irq_software_i  (irq_software_i),
    .irq_pending_o   (irq_pending),
    .irq_cause_o     (irq_cause),
    .wake_o          (irq_wake),
    .retire_i        (wb_valid_q && !wb_writes_instret_q),
    .retire_simd_i   (wb_valid_q && wb_cls_simd_q),
    .retire_mem_i    (wb_valid_q && wb_cls_mem_q),
    .retire_loop_i   (wb_valid_q && wb_cls_loop_q),
    .load_use_stall_i(load_use),
    .branch_penalty_i(redirect),
    .muldiv_stall_i  (id_valid_q && !load_use && dec.muldiv && !muldiv_ready)
  );

  always_comb begin
    unique case (dec.branch_cond)
      3'b000: branch_cond = rs1_val == rs2_val;
      3'b001: branch_cond = rs1_val != rs2_val;
      3'b100: branch_cond = $signed(rs1_val) < $signed(rs2_val);
      3'b101: branch_cond = $signed(rs1_val) >= $signed(rs2_val);
      3'b110: branch_cond = rs1_val < rs2_val;
      default: branch_cond = rs1_val >= rs2_val;
    endcase
  end

  assign pc_next = id_pc_q + (id_is_c_q ? 32'd2 : 32'd4);
  assign branch_target = id_pc_q + dec.imm;
  assign jalr_target = (rs1_val + dec.imm) & ~32'd1;

  // Memory access: base + imm, base + index, or the base itself (post-increment).
  assign mem_addr = dec.mem_post_inc ? rs1_val : alu_result;
  assign mem_misaligned = (dec.mem_size == 2'd1 && mem_addr[0]) || (dec.mem_size == 2'd2 && mem_addr[1:0] != 2'd0);
  assign in_dmem = (mem_addr - DmemBase) < DmemBytes;
  assign in_imem = (mem_addr - ImemBase) < ImemBytes;
  assign in_clint = (mem_addr - ClintBase) < ClintBytes;
  assign mem_outside = !(in_dmem || in_clint || (dec.load && in_imem));
  assign mem_fault = (dec.load || dec.store) && (mem_misaligned || mem_outside);

  assign illegal_insn = id_c_illegal_q || dec.illegal || (dec.csr && csr_illegal);

  always_comb begin
    trap_cause = CauseIllegal;
    trap_tval = id_raw_q;
    if (id_fetch_fault_q) begin
      trap_cause = CauseFetchFault;
      trap_tval = id_pc_q;
    end else if (illegal_insn) begin
      trap_cause = CauseIllegal;
    end else if (dec.ebreak) begin
      trap_cause = CauseBreakpoint;
      trap_tval = id_pc_q;
    end else if (dec.ecall) begin
      trap_cause = CauseEcallM;
      trap_tval = 32'd0;
    end else begin
      trap_cause = dec.load ? (mem_misaligned ? CauseLoadMisalign : CauseLoadFault)
                            : (mem_misaligned ? CauseStoreMisalign : CauseStoreFault);
      trap_tval = mem_addr;
    end
  end

  assign muldiv_wait = dec.muldiv && !muldiv_ready;
  // wfi sleeps until an enabled interrupt is pending (whatever mstatus.MIE); a load from IMEM counts its wait
  // states (imem_wait_q) once nothing else holds it.
  assign wfi_wait = dec.wfi && !irq_wake;
  assign imem_wait = dec.load && in_imem && !mem_fault && !illegal_insn && !id_fetch_fault_q && 32'(imem_wait_q) != ImemLoadWaitStates;
  assign stall_ex = load_use || (id_valid_q && (muldiv_wait || wfi_wait || imem_wait));
  // An interrupt replaces the instruction in EX once it could fire; a wfi that slept retires first.
  assign take_irq = id_valid_q && !stall_ex && irq_pending && !(dec.wfi && wfi_slept_q);
  assign ex_fire = id_valid_q && !stall_ex && !take_irq;
  assign ex_trap = id_fetch_fault_q || illegal_insn || dec.ebreak || dec.ecall || mem_fault;
  assign ex_commit = ex_fire && !ex_trap;
  // Vectored mtvec (mode 1): interrupts go to base + 4 * cause; exceptions always to base.
  assign trap_vector = {mtvec[31:2], 2'b00} + (take_irq && mtvec[0] ? {25'd0, irq_cause, 2'b00} : 32'd0);
  logic unused_mtvec_bit;
  assign unused_mtvec_bit = mtvec[1];  // always 0 (modes 2 and 3 are reserved)

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      imem_wait_q <= '0;
      wfi_slept_q <= 1'b0;
    end else begin
      // Counts while the load waits on the memory alone (during a load-use stall its address is not known
      // yet); starts again from 0 for the next instruction.
      if (!id_valid_q || !stall_ex) imem_wait_q <= '0;
      else if (imem_wait && !load_use) imem_wait_q <= imem_wait_q + 1'b1;
      wfi_slept_q <= id_valid_q && dec.wfi && stall_ex;
    end
  end

  always_comb begin
    redirect = 1'b0;
    redirect_pc = pc_next;
    if (take_irq || (ex_fire && ex_trap)) begin
      redirect = 1'b1;
      redirect_pc = trap_vector;
    end else if (ex_commit) begin
      if (dec.mret) begin
        redirect = 1'b1;
        redirect_pc = mepc;
      end else if (dec.jalr) begin
        redirect = 1'b1;
        redirect_pc = jalr_target;
      end else if (dec.jal) begin
        redirect = !id_pred_taken_q;
        redirect_pc = branch_target;
      end else if (dec.branch) begin
        redirect = branch_cond;
        redirect_pc = branch_target;
      end else if (dec.loop_close) begin
        redirect = loop_taken != id_pred_taken_q;
        redirect_pc = loop_taken ? branch_target : pc_next;
      end
    end
  end

  always_comb begin
    unique case (dec.res)
      ResMulDiv: result = muldiv_result;
      ResDotp:   result = dotp_result;
      ResCsr:    result = csr_rdata;
      ResPcNext: result = pc_next;
      ResRd:     result = rd_val;
      default:   result = alu_result;
    endcase
  end
  assign base_val = dec.loop_close ? loop_counter : alu_result;

  assign dmem_req_o = ex_commit && (dec.load || dec.store) && in_dmem;
  assign imem_data_req_o = ex_commit && dec.load && in_imem;
  assign clint_req_o = ex_commit && (dec.load || dec.store) && in_clint;
  assign data_we_o = dec.store;
  assign data_addr_o = {mem_addr[31:2], 2'b00};
  assign data_wdata_o = rs2_val << {mem_addr[1:0], 3'b000};
  assign data_be_o = (dec.mem_size == 2'd0 ? 4'b0001 : (dec.mem_size == 2'd1 ? 4'b0011 : 4'b1111)) << mem_addr[1:0];

  // ---------------------------------------------------------------- pipeline registers
  always_comb begin
    pc_d = pc_q;
    if (redirect) pc_d = redirect_pc;
    else if (!stall_ex) pc_d = pred_taken ? pred_target : seq_pc;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pc_q <= BootAddr;
      id_valid_q <= 1'b0;
      id_pc_q <= '0;
      id_instr_q <= '0;
      id_raw_q <= '0;
      id_is_c_q <= 1'b0;
      id_pred_taken_q <= 1'b0;
      id_c_illegal_q <= 1'b0;
      id_fetch_fault_q <= 1'b0;
    end else begin
      pc_q <= pc_d;
      if (redirect) begin
        id_valid_q <= 1'b0;
      end else if (!stall_ex) begin
        id_valid_q <= 1'b1;
        id_pc_q <= pc_q;
        id_instr_q <= fetch_expanded;
        id_raw_q <= fetch_is_c ? {16'd0, fetch_raw[15:0]} : fetch_raw;
        id_is_c_q <= fetch_is_c;
        id_pred_taken_q <= pred_taken;
        id_c_illegal_q <= fetch_is_c && fetch_c_illegal;
        id_fetch_fault_q <= fetch_fault;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wb_valid_q <= 1'b0;
    end else begin
      wb_valid_q <= ex_commit;
    end
  end

  always_ff @(posedge clk_i) begin
    if (ex_commit) begin
      wb_pc_q <= id_pc_q;
      wb_raw_q <= id_raw_q;
      wb_is_c_q <= id_is_c_q;
      wb_rd_we_q <= dec.rd_we;
      wb_rd_q <= dec.rd;
      wb_result_q <= result;
      wb_base_we_q <= dec.rs1_we;
      wb_base_q <= dec.rs1;
      wb_base_val_q <= base_val;
      wb_load_q <= dec.load;
      wb_store_q <= dec.store;
      wb_size_q <= dec.mem_size;
      wb_unsigned_q <= dec.mem_unsigned;
      wb_mem_addr_q <= mem_addr;
      wb_store_data_q <= rs2_val;
      wb_cls_simd_q <= dec.cls_simd;
      wb_cls_mem_q <= dec.cls_mem;
      wb_cls_loop_q <= dec.cls_loop;
      wb_dlb_merge_q <= dec.dlb_merge;
      wb_from_imem_q <= in_imem;
      wb_from_clint_q <= in_clint;
      wb_csr_we_q <= csr_trace_we;
      wb_csr_addr_q <= csr_trace_addr;
      wb_csr_wdata_q <= csr_trace_wdata;
      wb_mstatush_we_q <= csr_trace_mstatush;
      // A write to minstret takes effect after the writing instruction: that one is not counted on top.
      wb_writes_instret_q <= dec.csr && csr_write && (id_instr_q[31:20] == 12'hB02 || id_instr_q[31:20] == 12'hB82);
    end
  end

  // ---------------------------------------------------------------- retirement
  assign retire_valid_o = wb_valid_q;
  assign retire_pc_o = wb_pc_q;
  assign retire_insn_o = wb_raw_q;
  assign retire_compressed_o = wb_is_c_q;
  assign retire_rd_we_o = wb_rd_we_q && wb_rd_q != 5'd0;
  assign retire_rd_o = wb_rd_q;
  assign retire_rd_wdata_o = wb_load_q ? wb_load_value : wb_result_q;
  assign retire_base_we_o = wb_base_we_q && wb_base_q != 5'd0 && !(retire_rd_we_o && wb_rd_q == wb_base_q);
  assign retire_base_o = wb_base_q;
  assign retire_base_wdata_o = wb_base_val_q;
  assign retire_mem_o = wb_load_q || wb_store_q;
  assign retire_mem_we_o = wb_store_q;
  assign retire_mem_size_o = wb_size_q;
  assign retire_mem_addr_o = wb_mem_addr_q;
  assign retire_mem_wdata_o = wb_store_data_q;
  assign retire_csr_we_o = wb_csr_we_q;
  assign retire_csr_addr_o = wb_csr_addr_q;
  assign retire_csr_wdata_o = wb_csr_wdata_q;
  assign retire_mstatush_we_o = wb_mstatush_we_q;

endmodule
