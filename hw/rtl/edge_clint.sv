// Core-local interruptor at Spike's addresses (offsets from Base): msip at 0x0, mtimecmp at 0x4000 (64 bits),
// mtime at 0xBFF8 (64 bits). mtime counts once every TimerDivider core cycles (the timebase: 1 MHz at a
// 100 MHz core clock by default); MTIP is mtime >= mtimecmp, MSIP is msip bit 0. Both reset to 0, as on Spike
// (so MTIP is pending until software programs mtimecmp). Accesses are 32-bit words with byte enables, read
// data registered (the cycle after the request) like the data SRAM; every other offset of the CLINT's window
// reads 0 and ignores writes, as Spike's CLINT does.
module edge_clint #(
  parameter logic [31:0] Base = 32'h0200_0000,
  parameter int unsigned TimerDivider = 100
) (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        req_i,
  input  logic        we_i,
  input  logic [3:0]  be_i,
  input  logic [31:0] addr_i,
  input  logic [31:0] wdata_i,
  output logic [31:0] rdata_o,
  output logic [63:0] mtime_o,
  output logic        timer_irq_o,
  output logic        software_irq_o
);
  localparam int unsigned DivWidth = TimerDivider > 1 ? $clog2(TimerDivider) : 1;

  logic [63:0] mtime_q, mtimecmp_q;
  logic        msip_q;
  logic [DivWidth-1:0] div_q;
  logic [31:0] offset, rdata_q, word, merged;
  logic        tick;

  assign offset = addr_i - Base;
  assign tick = TimerDivider <= 1 || 32'(div_q) == TimerDivider - 1;

  always_comb begin
    unique case (offset)
      32'h0000: word = {31'd0, msip_q};
      32'h4000: word = mtimecmp_q[31:0];
      32'h4004: word = mtimecmp_q[63:32];
      32'hBFF8: word = mtime_q[31:0];
      32'hBFFC: word = mtime_q[63:32];
      default:  word = 32'd0;
    endcase
    for (int i = 0; i < 4; i++) merged[8*i +: 8] = be_i[i] ? wdata_i[8*i +: 8] : word[8*i +: 8];
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mtime_q <= '0;
      mtimecmp_q <= '0;
      msip_q <= 1'b0;
      div_q <= '0;
      rdata_q <= '0;
    end else begin
      div_q <= tick ? '0 : div_q + 1'b1;
      if (tick) mtime_q <= mtime_q + 64'd1;
      if (req_i && !we_i) rdata_q <= word;
      if (req_i && we_i) begin
        unique case (offset)
          32'h0000: msip_q <= merged[0];
          32'h4000: mtimecmp_q[31:0] <= merged;
          32'h4004: mtimecmp_q[63:32] <= merged;
          32'hBFF8: mtime_q[31:0] <= merged;
          32'hBFFC: mtime_q[63:32] <= merged;
          default: ;
        endcase
      end
    end
  end

  assign rdata_o = rdata_q;
  assign mtime_o = mtime_q;
  assign timer_irq_o = mtime_q >= mtimecmp_q;
  assign software_irq_o = msip_q;
endmodule
