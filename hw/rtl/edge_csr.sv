// Machine-mode CSRs of the edge core: trap state (mstatus, mtvec, mepc, mcause, mtval, mscratch), interrupt
// enables and pending bits (mie, mip: machine software, timer and external), the time CSR (the CLINT's mtime),
// identity registers, the physical memory protection registers and the performance counters (mcycle,
// minstret, mhpmcounter3..8; see edge_insn_pkg for which event each counts).
//
// The CSR map is the one Spike shows for `--priv=m --pmpregions=8 --triggers=0` (README, "The platform"):
// every address legal there is legal here, with the same writable bits. Two deliberate differences: misa is
// read-only here (Spike lets software switch M and C off), and marchid is 0 (Spike reports its own id, 5).
// The PMP registers hold the platform's protection map, locked: the values crt0 writes on Spike (where the
// PMP enforces the map) are this core's reset values (its bus enforces the same map), so writes are ignored
// as the specification says for locked entries. mhpmcounter9..31 and the mhpmevent registers read 0.
//
// The trace_* outputs show the CSR write of the instruction in execute as Spike's --log-commits does, for the
// commit trace: the CSR's number and its value after the write (legalized: mie masked, mtvec's reserved mode
// bit and mepc's bit 0 cleared, mstatus as read back, a hard-wired register's own value), or for mret mstatus
// then mstatush (0). Writes Spike does not log are not shown: csrrs/csrrc with x0 and their immediate forms
// with 0 (no write), the hpm counters (constant on Spike; counters are never compared anyway), pmpcfg2..15,
// pmpaddr8..63, tdata1..3 and tinfo, and a pmpaddr register whose entry (or the TOR entry above it) software
// has locked. Spike's PMP is open until crt0 locks it; this one holds the map from reset, so it notes which L
// bits software has written (pmp_lock_q) to log crt0's pmpaddr writes as Spike does and later ones not.
// mcontext's writes are logged under hcontext's number (0x6A8), as Spike, which aliases one to the other, does.
module edge_csr
  import edge_core_pkg::*;
  import edge_insn_pkg::*;
#(
  parameter logic [31:0] ImemBase = 32'h8000_0000,
  parameter int unsigned ImemBytes = 512 * 1024,
  parameter logic [31:0] DmemBase = 32'h9000_0000,
  parameter int unsigned DmemBytes = 16 * 1024 * 1024,
  parameter logic [31:0] ClintBase = 32'h0200_0000,
  parameter int unsigned ClintBytes = 32'h000C_0000
) (
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
  // the CSR write of the instruction in execute as Spike's commit log shows it (valid with access_i or mret_i)
  output logic        trace_we_o,      // a CSR write is logged
  output logic [11:0] trace_addr_o,    // the CSR number logged
  output logic [31:0] trace_wdata_o,   // the CSR's value after the write
  output logic        trace_mstatush_o,  // mret: mstatush (always 0) is logged too, after mstatus
  // traps and returns
  input  logic        trap_i,
  input  logic        trap_irq_i,      // the trap is an interrupt (mcause bit 31)
  input  logic [4:0]  trap_cause_i,
  input  logic [31:0] trap_pc_i,
  input  logic [31:0] trap_tval_i,
  input  logic        mret_i,
  output logic [31:0] mtvec_o,
  output logic [31:0] mepc_o,
  // interrupts: the CLINT's lines in, the core's decision out
  input  logic [63:0] mtime_i,
  input  logic        irq_timer_i,
  input  logic        irq_software_i,
  output logic        irq_pending_o,   // an enabled interrupt is pending and mstatus.MIE is set: take it
  output logic [4:0]  irq_cause_o,     // which one (external > software > timer)
  output logic        wake_o,          // an enabled interrupt is pending, whatever mstatus.MIE: wfi ends
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
  // MEIE, MTIE, MSIE, and bit 12 (SGEIE), which Spike keeps writable too; nothing drives its pending bit.
  localparam logic [31:0] MieMask = 32'h0000_1888;
  // pmpcfg bytes: L | A (OFF 0, TOR 1, NAPOT 3) | X W R.
  localparam logic [7:0] PmpOff = 8'h80, PmpTorRw = 8'h8B, PmpTorRx = 8'h8D, PmpNapotNone = 8'h98;
  // Entries 0..7: the CLINT (read, write), IMEM (read, execute), DMEM (read, write) as top-of-range pairs,
  // then the whole address space with no permission (everything else faults), then an unused locked entry.
  localparam logic [31:0] PmpCfg0 = {PmpTorRx, PmpOff, PmpTorRw, PmpOff};
  localparam logic [31:0] PmpCfg1 = {PmpOff, PmpNapotNone, PmpTorRw, PmpOff};
  localparam int unsigned PmpEntries = 8;
  // The configuration bytes of entries 0..8 (a ninth, absent entry: neither locked nor TOR).
  localparam logic [8*(PmpEntries+1)-1:0] PmpCfgBytes = {8'd0, PmpCfg1, PmpCfg0};

  // pmpaddr holds address bits 33:2: a region's end (base + bytes) >> 2 fits even for a region ending at 2^32.
  localparam logic [31:0] ClintEnd = (ClintBase >> 2) + ClintBytes / 4;
  localparam logic [31:0] ImemEnd = (ImemBase >> 2) + ImemBytes / 4;
  localparam logic [31:0] DmemEnd = (DmemBase >> 2) + DmemBytes / 4;

  function automatic logic [31:0] mstatus_value(logic [1:0] xs, logic mpie, logic mie);
    mstatus_value = {&xs, 14'd0, xs, 2'b00, 2'b11, 3'd0, mpie, 3'd0, mie, 3'd0};   // SD, XS, MPP = M
  endfunction

  function automatic logic [31:0] pmpaddr(logic [5:0] index);
    unique case (index)
      6'd0: pmpaddr = ClintBase >> 2;
      6'd1: pmpaddr = ClintEnd;
      6'd2: pmpaddr = ImemBase >> 2;
      6'd3: pmpaddr = ImemEnd;
      6'd4: pmpaddr = DmemBase >> 2;
      6'd5: pmpaddr = DmemEnd;
      6'd6: pmpaddr = 32'hFFFF_FFFF;
      default: pmpaddr = 32'd0;
    endcase
  endfunction

  logic [31:0] mtvec_q, mepc_q, mcause_q, mtval_q, mscratch_q, mie_q, inhibit_q;
  logic [5:0]  mcontext_q;
  logic mstatus_mie_q, mstatus_mpie_q;
  logic [1:0] mstatus_xs_q;
  logic [63:0] cycle_q, instret_q;
  logic [63:0] hpm_q [FirstHpm:LastHpm];
  logic [LastHpm:FirstHpm] hpm_event;
  logic [31:0] new_value, write_value, mip, enabled;
  logic [63:0] instret_now;
  logic read_only, write_logged;
  logic [11:0] write_logged_addr;
  logic [5:0] pmp_index;
  logic [PmpEntries-1:0] pmp_lock_q, pmpaddr_open;
  logic [PmpEntries:0] pmp_locked;

  assign hpm_event[HpmLoadUseStall] = load_use_stall_i;
  assign hpm_event[HpmBranchPenalty] = branch_penalty_i;
  assign hpm_event[HpmMuldivStall] = muldiv_stall_i;
  assign hpm_event[HpmClassSimd] = retire_simd_i;
  assign hpm_event[HpmClassMem] = retire_mem_i;
  assign hpm_event[HpmClassLoop] = retire_loop_i;

  // No external interrupt controller: MEIP is 0. MTIP and MSIP follow the CLINT (read-only here).
  assign mip = {20'd0, 1'b0, 3'd0, irq_timer_i, 3'd0, irq_software_i, 3'd0};
  assign enabled = mip & mie_q;
  assign wake_o = enabled != 32'd0;
  assign irq_pending_o = mstatus_mie_q && wake_o;
  assign irq_cause_o = enabled[11] ? 5'd11 : (enabled[3] ? 5'd3 : 5'd7);

  // An instruction reading minstret sees every older instruction retired, including the one in writeback.
  assign instret_now = instret_q + {63'd0, retire_i && !inhibit_q[2]};

  always_comb begin
    rdata_o = 32'd0;
    illegal_o = 1'b0;
    unique casez (addr_i)
      12'h300: rdata_o = mstatus_value(mstatus_xs_q, mstatus_mpie_q, mstatus_mie_q);
      12'h301: rdata_o = Misa;
      12'h304: rdata_o = mie_q;
      12'h305: rdata_o = mtvec_q;
      12'h310: rdata_o = 32'd0;                                           // mstatush
      12'h320: rdata_o = inhibit_q;
      12'h340: rdata_o = mscratch_q;
      12'h341: rdata_o = mepc_q;
      12'h342: rdata_o = mcause_q;
      12'h343: rdata_o = mtval_q;
      12'h344: rdata_o = mip;
      12'b0011_1010_????: rdata_o = addr_i[3:0] == 4'd0 ? PmpCfg0 : (addr_i[3:0] == 4'd1 ? PmpCfg1 : 32'd0);
      12'h3B?, 12'h3C?, 12'h3D?, 12'h3E?: rdata_o = pmpaddr(6'(addr_i - 12'h3B0));
      12'h7A0, 12'h7A1, 12'h7A2, 12'h7A3, 12'h7A4: rdata_o = 32'd0;      // debug triggers: none
      12'h7A8: rdata_o = {26'd0, mcontext_q};
      12'hB00, 12'hC00: rdata_o = cycle_q[31:0];
      12'hB80, 12'hC80: rdata_o = cycle_q[63:32];
      12'hB02, 12'hC02: rdata_o = instret_now[31:0];
      12'hB82, 12'hC82: rdata_o = instret_now[63:32];
      12'hC01: rdata_o = mtime_i[31:0];
      12'hC81: rdata_o = mtime_i[63:32];
      12'hF11, 12'hF12, 12'hF13, 12'hF14, 12'hF15: rdata_o = 32'd0;      // vendor, arch, impl, hart, config
      default: begin
        if ((addr_i[11:5] == 7'b1011000 || addr_i[11:5] == 7'b1100000) && 32'(addr_i[4:0]) >= FirstHpm) begin
          rdata_o = 32'(addr_i[4:0]) <= LastHpm ? hpm_q[addr_i[4:0]][31:0] : 32'd0;
        end else if ((addr_i[11:5] == 7'b1011100 || addr_i[11:5] == 7'b1100100) && 32'(addr_i[4:0]) >= FirstHpm) begin
          rdata_o = 32'(addr_i[4:0]) <= LastHpm ? hpm_q[addr_i[4:0]][63:32] : 32'd0;
        end else if (addr_i[11:5] == 7'b0011001 && 32'(addr_i[4:0]) >= FirstHpm) begin
          rdata_o = 32'd0;                                                // mhpmevent3..31
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

  // pmpaddrN takes writes (and Spike logs them) unless entry N, or a TOR entry N+1, has been locked.
  assign pmp_locked = {1'b0, pmp_lock_q};
  always_comb begin
    for (int unsigned i = 0; i < PmpEntries; i++) begin
      pmpaddr_open[i] = !pmp_locked[i] && !(pmp_locked[i+1] && PmpCfgBytes[8*(i+1)+3 +: 2] == 2'b01);
    end
  end
  assign pmp_index = 6'(addr_i - 12'h3B0);

  // The value a write leaves in the CSR (what the registers below take and the commit trace shows), and
  // whether Spike logs the write.
  always_comb begin
    write_value = new_value;
    write_logged = 1'b1;
    write_logged_addr = addr_i;
    unique casez (addr_i)
      12'h300: write_value = mstatus_value(new_value[16:15], new_value[7], new_value[3]);
      12'h301: write_value = Misa;
      12'h304: write_value = new_value & MieMask;
      // mtvec: mode 0 (direct) or 1 (vectored); mcountinhibit: bit 1 (time) is hard-wired 0.
      12'h305, 12'h320: write_value = {new_value[31:2], 1'b0, new_value[0]};
      12'h310: write_value = 32'd0;                                       // mstatush
      12'h341: write_value = {new_value[31:1], 1'b0};
      12'h344: write_value = mip;                                         // read-only bits only
      12'b0011_1010_????: begin
        write_value = addr_i[3:0] == 4'd0 ? PmpCfg0 : (addr_i[3:0] == 4'd1 ? PmpCfg1 : 32'd0);
        write_logged = addr_i[3:1] == 3'd0;                               // pmpcfg2..15: no entries
      end
      12'h3B?, 12'h3C?, 12'h3D?, 12'h3E?: begin
        write_value = pmpaddr(pmp_index);
        write_logged = 32'(pmp_index) < PmpEntries && pmpaddr_open[pmp_index[2:0]];
      end
      12'h7A0: write_value = 32'd0;                                       // tselect
      12'h7A1, 12'h7A2, 12'h7A3, 12'h7A4: begin                           // tdata1..3, tinfo
        write_value = 32'd0;
        write_logged = 1'b0;
      end
      12'h7A8: begin
        write_value = {26'd0, new_value[5:0]};
        write_logged_addr = 12'h6A8;                                      // logged as hcontext
      end
      default: begin
        if (addr_i[11:5] == 7'b0011001) write_value = 32'd0;              // mhpmevent3..31
        if ((addr_i[11:5] == 7'b1011000 || addr_i[11:5] == 7'b1011100) && 32'(addr_i[4:0]) >= FirstHpm) begin
          write_logged = 1'b0;                                            // mhpmcounter3..31(h)
        end
      end
    endcase
  end

  assign trace_we_o = mret_i || (access_i && write_i && write_logged);
  assign trace_addr_o = mret_i ? 12'h300 : write_logged_addr;
  assign trace_wdata_o = mret_i ? mstatus_value(mstatus_xs_q, 1'b1, mstatus_mpie_q) : write_value;
  assign trace_mstatush_o = mret_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mtvec_q <= '0;
      mepc_q <= '0;
      mcause_q <= '0;
      mtval_q <= '0;
      mscratch_q <= '0;
      mie_q <= '0;
      mcontext_q <= '0;
      mstatus_mie_q <= 1'b0;
      mstatus_mpie_q <= 1'b0;
      mstatus_xs_q <= 2'b00;
      cycle_q <= '0;
      instret_q <= '0;
      inhibit_q <= '0;
      pmp_lock_q <= '0;
      for (int unsigned i = FirstHpm; i <= LastHpm; i++) hpm_q[i] <= '0;
    end else begin
      cycle_q <= cycle_q + {63'd0, !inhibit_q[0]};
      instret_q <= instret_q + {63'd0, retire_i && !inhibit_q[2]};
      for (int unsigned i = FirstHpm; i <= LastHpm; i++) begin
        hpm_q[i] <= hpm_q[i] + {63'd0, hpm_event[i] && !inhibit_q[i]};
      end
      if (trap_i) begin
        mepc_q <= trap_pc_i;
        mcause_q <= {trap_irq_i, 26'd0, trap_cause_i};
        mtval_q <= trap_tval_i;
        mstatus_mpie_q <= mstatus_mie_q;
        mstatus_mie_q <= 1'b0;
      end else if (mret_i) begin
        mstatus_mie_q <= mstatus_mpie_q;
        mstatus_mpie_q <= 1'b1;
      end else if (access_i && write_i) begin
        unique casez (addr_i)
          12'h300: begin
            mstatus_mie_q <= write_value[3];
            mstatus_mpie_q <= write_value[7];
            mstatus_xs_q <= write_value[16:15];
          end
          12'h304: mie_q <= write_value;
          12'h305: mtvec_q <= write_value;
          12'h320: inhibit_q <= write_value;
          12'h340: mscratch_q <= write_value;
          12'h341: mepc_q <= write_value;
          12'h342: mcause_q <= write_value;
          12'h343: mtval_q <= write_value;
          // The map stays; an L bit software writes locks its entry's address register (see trace_we_o).
          12'h3A0: pmp_lock_q[3:0] <= pmp_lock_q[3:0] | {new_value[31], new_value[23], new_value[15], new_value[7]};
          12'h3A1: pmp_lock_q[7:4] <= pmp_lock_q[7:4] | {new_value[31], new_value[23], new_value[15], new_value[7]};
          12'h7A8: mcontext_q <= write_value[5:0];
          12'hB00: cycle_q[31:0] <= write_value;
          12'hB80: cycle_q[63:32] <= write_value;
          12'hB02: instret_q[31:0] <= write_value;
          12'hB82: instret_q[63:32] <= write_value;
          default: begin
            for (int unsigned i = FirstHpm; i <= LastHpm; i++) begin
              if (addr_i == 12'hB00 + 12'(i)) hpm_q[i][31:0] <= write_value;
              if (addr_i == 12'hB80 + 12'(i)) hpm_q[i][63:32] <= write_value;
            end
          end
        endcase
      end
    end
  end

  assign mtvec_o = mtvec_q;
  assign mepc_o = mepc_q;

`ifdef VERILATOR
  // The counters as the simulation's debugger shows them (hw/sim/edge_core_driver.cpp): 0 mcycle,
  // 2 minstret, FirstHpm..LastHpm mhpmcounterN, anything else 0. Synthesis never sees it.
  export "DPI-C" function edge_csr_counter;
  function automatic longint unsigned edge_csr_counter(input int unsigned index);
    if (index == 0) return cycle_q;
    if (index == 2) return instret_q;
    for (int unsigned i = FirstHpm; i <= LastHpm; i++) if (index == i) return hpm_q[i];
    return 64'd0;
  endfunction
`endif
endmodule
