// M extension: single-cycle 33x33 multiplier for MUL/MULH/MULHSU/MULHU, and a radix-2 restoring divider
// for DIV/DIVU/REM/REMU (one quotient bit per cycle: 34 cycles in execute, start and finish included).
module edge_muldiv (
  input  logic        clk_i,
  input  logic        rst_ni,
  input  logic        valid_i,   // a M instruction with ready operands is in execute
  input  logic [2:0]  op_i,      // funct3
  input  logic [31:0] a_i,
  input  logic [31:0] b_i,
  output logic [31:0] result_o,
  output logic        ready_o    // result_o is valid this cycle
);
  typedef enum logic [1:0] { DivIdle, DivBusy, DivDone } div_state_e;

  logic is_div, div_signed, is_rem;
  logic signed [32:0] mul_a, mul_b;
  logic signed [65:0] product;
  logic [31:0] mul_result;

  div_state_e state_q, state_d;
  logic [32:0] rem_q, rem_d;
  logic [31:0] quo_q, quo_d, divisor_q, divisor_d;
  logic [5:0] count_q, count_d;
  logic neg_q_q, neg_q_d, neg_r_q, neg_r_d;
  logic [32:0] rem_shift, diff;
  logic [31:0] div_result;

  assign is_div = op_i[2];
  assign div_signed = !op_i[0];
  assign is_rem = op_i[1];

  // Multiplier: operand signedness by funct3 (MUL/MULH signed x signed, MULHSU signed x unsigned).
  assign mul_a = {op_i[1:0] != 2'b11 && a_i[31], a_i};
  assign mul_b = {op_i[1:0] == 2'b01 && b_i[31] || op_i[1:0] == 2'b00 && b_i[31], b_i};
  assign product = mul_a * mul_b;
  assign mul_result = op_i[1:0] == 2'b00 ? product[31:0] : product[63:32];

  logic unused_product;  // the two sign bits above a 32x32 product
  assign unused_product = ^product[65:64];

  assign rem_shift = {rem_q[31:0], quo_q[31]};
  assign diff = rem_shift - {1'b0, divisor_q};

  always_comb begin
    state_d = state_q;
    rem_d = rem_q;
    quo_d = quo_q;
    divisor_d = divisor_q;
    count_d = count_q;
    neg_q_d = neg_q_q;
    neg_r_d = neg_r_q;
    unique case (state_q)
      DivIdle: begin
        if (valid_i && is_div) begin
          state_d = DivBusy;
          neg_q_d = div_signed && (a_i[31] ^ b_i[31]) && b_i != 32'd0;
          neg_r_d = div_signed && a_i[31];
          quo_d = div_signed && a_i[31] ? -a_i : a_i;
          divisor_d = div_signed && b_i[31] ? -b_i : b_i;
          rem_d = '0;
          count_d = '0;
        end
      end
      DivBusy: begin
        if (!diff[32]) begin
          rem_d = diff;
          quo_d = {quo_q[30:0], 1'b1};
        end else begin
          rem_d = rem_shift;
          quo_d = {quo_q[30:0], 1'b0};
        end
        count_d = count_q + 6'd1;
        if (count_q == 6'd31) state_d = DivDone;
      end
      default: begin  // DivDone: the result is consumed this cycle
        if (valid_i) state_d = DivIdle;
      end
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= DivIdle;
      rem_q <= '0;
      quo_q <= '0;
      divisor_q <= '0;
      count_q <= '0;
      neg_q_q <= 1'b0;
      neg_r_q <= 1'b0;
    end else begin
      state_q <= state_d;
      rem_q <= rem_d;
      quo_q <= quo_d;
      divisor_q <= divisor_d;
      count_q <= count_d;
      neg_q_q <= neg_q_d;
      neg_r_q <= neg_r_d;
    end
  end

  assign div_result = is_rem ? (neg_r_q ? -rem_q[31:0] : rem_q[31:0]) : (neg_q_q ? -quo_q : quo_q);
  assign result_o = is_div ? div_result : mul_result;
  assign ready_o = !is_div || state_q == DivDone;
endmodule
