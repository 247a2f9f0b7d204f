// Machine-mode CSRs of the edge core: trap state (mstatus, mtvec, mepc, mcause, mtval, mscratch), identity
// registers and the performance counters (mcycle, minstret, mhpmcounter3..8; see edge_insn_pkg for which
// event each counts).
module edge_csr
  import edge_core_pkg::*;
  import edge_insn_pkg::*;
(
  input  logic        clk_i,
  input  logic        rst_ni,
  // CSR instruction in execute
  input  logic        access_i,        // fires this cycle (and is legal)
  input  logic [11:0] addr_i,
  input  logic [1:0]  op_i,            // 1 write, 2 set, 3 clear
  input  logic        write_i,         // the instruction writes (csrrw, or set/clear with a non-zero operand)
  input  logic [31:0] wdata_i,
  output logic [31:0] rdata_o,
  output logic        illegal_o,
  // traps and returns
  input  logic        trap_i,
  input  logic [4:0]  trap_cause_i,
  input  logic [31:0] trap_pc_i,
  input  logic [31:0] trap_tval_i,
  input  logic        mret_i,
  output logic [31:0] mtvec_o,
  output logic [31:0] mepc_o,
  // events
  input  logic        retire_i,        // an instruction retires in writeback this cycle
  input  logic        retire_simd_i,
  input  logic        retire_mem_i,
  input  logic        retire_loop_i,
  input  logic        load_use_stall_i,
  input  logic        branch_penalty_i,
  input  logic        muldiv_stall_i
);
  localparam logic [31:0] Misa = 32'h4080_1104;  // RV32 I M C X
  localparam int unsigned FirstHpm = 3;
  localparam int unsigned LastHpm = 8;

  logic [31:0] mtvec_q, mepc_q, mcause_q, mtval_q, mscratch_q;
  logic mie_q, mpie_q;
  logic [LastHpm:0] inhibit_q;  // mcountinhibit: CY (0), IR (2), HPM3..8
  logic [63:0] cycle_q, instret_q;
  logic [63:0] hpm_q [FirstHpm:LastHpm];
  logic [LastHpm:FirstHpm] hpm_event;
  logic [31:0] new_value;
  logic [63:0] instret_now;
  logic read_only;

  assign hpm_event[HpmLoadUseStall] = load_use_stall_i;
  assign hpm_event[HpmBranchPenalty] = branch_penalty_i;
  assign hpm_event[HpmMuldivStall] = muldiv_stall_i;
  assign hpm_event[HpmClassSimd] = retire_simd_i;
  assign hpm_event[HpmClassMem] = retire_mem_i;
  assign hpm_event[HpmClassLoop] = retire_loop_i;

  // An instruction reading minstret sees every older instruction retired, including the one in writeback.
  assign instret_now = instret_q + {63'd0, retire_i && !inhibit_q[2]};

  always_comb begin
    rdata_o = 32'd0;
    illegal_o = 1'b0;
    unique casez (addr_i)
      12'h300: rdata_o = {19'd0, 2'b11, 3'd0, mpie_q, 3'd0, mie_q, 3'd0};  // mstatus
      12'h301: rdata_o = Misa;
      12'h304, 12'h344: rdata_o = 32'd0;                                   // mie, mip: no interrupts
      12'h320: rdata_o = 32'(inhibit_q);
      12'h305: rdata_o = mtvec_q;
      12'h340: rdata_o = mscratch_q;
      12'h341: rdata_o = mepc_q;
      12'h342: rdata_o = mcause_q;
      12'h343: rdata_o = mtval_q;
      12'hB00, 12'hC00: rdata_o = cycle_q[31:0];
      12'hB80, 12'hC80: rdata_o = cycle_q[63:32];
      12'hB02, 12'hC02: rdata_o = instret_now[31:0];
      12'hB82, 12'hC82: rdata_o = instret_now[63:32];
      12'hF11, 12'hF12, 12'hF13, 12'hF14: rdata_o = 32'd0;                 // vendor, arch, impl, hart id
      default: begin
        if ((addr_i[11:5] == 7'b1011000 || addr_i[11:5] == 7'b1100000) && 32'(addr_i[4:0]) >= FirstHpm) begin
          rdata_o = 32'(addr_i[4:0]) <= LastHpm ? hpm_q[addr_i[4:0]][31:0] : 32'd0;
        end else if ((addr_i[11:5] == 7'b1011100 || addr_i[11:5] == 7'b1100100) && 32'(addr_i[4:0]) >= FirstHpm) begin
          rdata_o = 32'(addr_i[4:0]) <= LastHpm ? hpm_q[addr_i[4:0]][63:32] : 32'd0;
        end else begin
          illegal_o = 1'b1;
        end
      end
    endcase
    read_only = addr_i[11:10] == 2'b11;
    if (write_i && read_only) illegal_o = 1'b1;
  end

  always_comb begin
    unique case (op_i)
      2'd1: new_value = wdata_i;
      2'd2: new_value = rdata_o | wdata_i;
      default: new_value = rdata_o & ~wdata_i;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mtvec_q <= '0;
      mepc_q <= '0;
      mcause_q <= '0;
      mtval_q <= '0;
      mscratch_q <= '0;
      mie_q <= 1'b0;
      mpie_q <= 1'b0;
      cycle_q <= '0;
      instret_q <= '0;
      inhibit_q <= '0;
      for (int unsigned i = FirstHpm; i <= LastHpm; i++) hpm_q[i] <= '0;
    end else begin
      cycle_q <= cycle_q + {63'd0, !inhibit_q[0]};
      instret_q <= instret_q + {63'd0, retire_i && !inhibit_q[2]};
      for (int unsigned i = FirstHpm; i <= LastHpm; i++) begin
        hpm_q[i] <= hpm_q[i] + {63'd0, hpm_event[i] && !inhibit_q[i]};
      end
      if (trap_i) begin
        mepc_q <= trap_pc_i;
        mcause_q <= {27'd0, trap_cause_i};
        mtval_q <= trap_tval_i;
        mpie_q <= mie_q;
        mie_q <= 1'b0;
      end else if (mret_i) begin
        mie_q <= mpie_q;
        mpie_q <= 1'b1;
      end else if (access_i && write_i) begin
        unique casez (addr_i)
          12'h300: begin
            mie_q <= new_value[3];
            mpie_q <= new_value[7];
          end
          12'h305: mtvec_q <= {new_value[31:2], 2'b00};
          12'h320: inhibit_q <= {new_value[LastHpm:2], 1'b0, new_value[0]};
          12'h340: mscratch_q <= new_value;
          12'h341: mepc_q <= {new_value[31:1], 1'b0};
          12'h342: mcause_q <= new_value;
          12'h343: mtval_q <= new_value;
          12'hB00: cycle_q[31:0] <= new_value;
          12'hB80: cycle_q[63:32] <= new_value;
          12'hB02: instret_q[31:0] <= new_value;
          12'hB82: instret_q[63:32] <= new_value;
          default: begin
            for (int unsigned i = FirstHpm; i <= LastHpm; i++) begin
              if (addr_i == 12'hB00 + 12'(i)) hpm_q[i][31:0] <= new_value;
              if (addr_i == 12'hB80 + 12'(i)) hpm_q[i][63:32] <= new_value;
            end
          end
        endcase
      end
    end
  end

  assign mtvec_o = mtvec_q;
  assign mepc_o = mepc_q;
endmodule
