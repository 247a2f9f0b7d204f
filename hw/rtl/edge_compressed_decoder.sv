// RV32C expander: turns a 16-bit compressed instruction into its 32-bit equivalent (RV32IC, no F/D).
module edge_compressed_decoder (
  input  logic [15:0] instr_i,
  output logic [31:0] instr_o,
  output logic        illegal_o
);
  localparam logic [6:0] OpLoad = 7'b0000011, OpStore = 7'b0100011, OpImm = 7'b0010011,
                         OpReg = 7'b0110011, OpLui = 7'b0110111, OpBranch = 7'b1100011,
                         OpJal = 7'b1101111, OpJalr = 7'b1100111, OpSystem = 7'b1110011;

  logic [4:0] rd_p, rs2_p, rd_full, rs2_full;
  logic [11:0] imm6, lw_off, sw_off, lwsp_off, swsp_off, addi4spn_imm, addi16sp_imm;
  logic [20:0] j_off;
  logic [12:0] b_off;
  logic [5:0] shamt;

  assign rd_p     = {2'b01, instr_i[4:2]};
  assign rs2_p    = {2'b01, instr_i[4:2]};
  assign rd_full  = instr_i[11:7];
  assign rs2_full = instr_i[6:2];
  assign imm6     = {{7{instr_i[12]}}, instr_i[6:2]};
  assign shamt    = {instr_i[12], instr_i[6:2]};
  assign lw_off   = {5'b0, instr_i[5], instr_i[12:10], instr_i[6], 2'b00};
  assign sw_off   = lw_off;
  assign lwsp_off = {4'b0, instr_i[3:2], instr_i[12], instr_i[6:4], 2'b00};
  assign swsp_off = {4'b0, instr_i[8:7], instr_i[12:9], 2'b00};
  assign addi4spn_imm = {2'b0, instr_i[10:7], instr_i[12:11], instr_i[5], instr_i[6], 2'b00};
  assign addi16sp_imm = {{3{instr_i[12]}}, instr_i[4:3], instr_i[5], instr_i[2], instr_i[6], 4'b0};
  assign j_off = {{10{instr_i[12]}}, instr_i[8], instr_i[10:9], instr_i[6], instr_i[7], instr_i[2],
                  instr_i[11], instr_i[5:3], 1'b0};
  assign b_off = {{5{instr_i[12]}}, instr_i[6:5], instr_i[2], instr_i[11:10], instr_i[4:3], 1'b0};

  function automatic logic [31:0] i_type(logic [11:0] imm, logic [4:0] rs1, logic [2:0] f3, logic [4:0] rd,
                                         logic [6:0] op);
    i_type = {imm, rs1, f3, rd, op};
  endfunction

  function automatic logic [31:0] s_type(logic [11:0] imm, logic [4:0] rs2, logic [4:0] rs1, logic [2:0] f3,
                                         logic [6:0] op);
    s_type = {imm[11:5], rs2, rs1, f3, imm[4:0], op};
  endfunction

  function automatic logic [31:0] r_type(logic [6:0] f7, logic [4:0] rs2, logic [4:0] rs1, logic [2:0] f3,
                                         logic [4:0] rd);
    r_type = {f7, rs2, rs1, f3, rd, OpReg};
  endfunction

  // Offsets are even: bit 0 of a jump or branch offset is not encoded.
  /* verilator lint_off UNUSEDSIGNAL */
  function automatic logic [31:0] j_type(logic [20:0] off, logic [4:0] rd);
    j_type = {off[20], off[10:1], off[11], off[19:12], rd, OpJal};
  endfunction

  function automatic logic [31:0] b_type(logic [12:0] off, logic [4:0] rs1, logic [2:0] f3);
    b_type = {off[12], off[10:5], 5'd0, rs1, f3, off[4:1], off[11], OpBranch};
  endfunction
  /* verilator lint_on UNUSEDSIGNAL */

  always_comb begin
    instr_o   = 32'h0;
    illegal_o = 1'b0;
    unique case (instr_i[1:0])
      2'b00: begin
        unique case (instr_i[15:13])
          3'b000: begin  // c.addi4spn
            instr_o   = i_type(addi4spn_imm, 5'd2, 3'b000, rd_p, OpImm);
            illegal_o = addi4spn_imm == 12'd0;
          end
          3'b010: instr_o = i_type(lw_off, {2'b01, instr_i[9:7]}, 3'b010, rd_p, OpLoad);          // c.lw
          3'b110: instr_o = s_type(sw_off, rs2_p, {2'b01, instr_i[9:7]}, 3'b010, OpStore);        // c.sw
          default: illegal_o = 1'b1;
        endcase
      end
      2'b01: begin
        unique case (instr_i[15:13])
          3'b000: instr_o = i_type(imm6, rd_full, 3'b000, rd_full, OpImm);                       // c.addi
          3'b001: instr_o = j_type(j_off, 5'd1);                                                 // c.jal
          3'b010: instr_o = i_type(imm6, 5'd0, 3'b000, rd_full, OpImm);                          // c.li
          3'b011: begin
            if (rd_full == 5'd2) begin  // c.addi16sp
              instr_o   = i_type(addi16sp_imm, 5'd2, 3'b000, 5'd2, OpImm);
              illegal_o = addi16sp_imm == 12'd0;
            end else begin  // c.lui
              instr_o   = {{15{instr_i[12]}}, instr_i[6:2], rd_full, OpLui};
              illegal_o = {instr_i[12], instr_i[6:2]} == 6'd0;
            end
          end
          3'b100: begin
            unique case (instr_i[11:10])
              2'b00, 2'b01: begin  // c.srli, c.srai
                instr_o   = i_type({1'b0, instr_i[10], 4'b0, shamt}, {2'b01, instr_i[9:7]}, 3'b101,
                                   {2'b01, instr_i[9:7]}, OpImm);
                illegal_o = instr_i[12];
              end
              2'b10: instr_o = i_type(imm6, {2'b01, instr_i[9:7]}, 3'b111, {2'b01, instr_i[9:7]}, OpImm);
              2'b11: begin
                unique case (instr_i[6:5])
                  2'b00: instr_o = r_type(7'b0100000, rs2_p, {2'b01, instr_i[9:7]}, 3'b000, {2'b01, instr_i[9:7]});
                  2'b01: instr_o = r_type(7'b0000000, rs2_p, {2'b01, instr_i[9:7]}, 3'b100, {2'b01, instr_i[9:7]});
                  2'b10: instr_o = r_type(7'b0000000, rs2_p, {2'b01, instr_i[9:7]}, 3'b110, {2'b01, instr_i[9:7]});
                  default: instr_o = r_type(7'b0000000, rs2_p, {2'b01, instr_i[9:7]}, 3'b111,
                                            {2'b01, instr_i[9:7]});
                endcase
                illegal_o = instr_i[12];
              end
              default: illegal_o = 1'b1;
            endcase
          end
          3'b101: instr_o = j_type(j_off, 5'd0);                                                 // c.j
          3'b110: instr_o = b_type(b_off, {2'b01, instr_i[9:7]}, 3'b000);                        // c.beqz
          default: instr_o = b_type(b_off, {2'b01, instr_i[9:7]}, 3'b001);                       // c.bnez
        endcase
      end
      2'b10: begin
        unique case (instr_i[15:13])
          3'b000: begin  // c.slli
            instr_o   = i_type({6'b0, shamt}, rd_full, 3'b001, rd_full, OpImm);
            illegal_o = instr_i[12];
          end
          3'b010: begin  // c.lwsp
            instr_o   = i_type(lwsp_off, 5'd2, 3'b010, rd_full, OpLoad);
            illegal_o = rd_full == 5'd0;
          end
          3'b100: begin
            if (!instr_i[12]) begin
              if (rs2_full == 5'd0) begin  // c.jr
                instr_o   = i_type(12'd0, rd_full, 3'b000, 5'd0, OpJalr);
                illegal_o = rd_full == 5'd0;
              end else begin  // c.mv
                instr_o = r_type(7'b0, rs2_full, 5'd0, 3'b000, rd_full);
              end
            end else if (rs2_full == 5'd0) begin
              if (rd_full == 5'd0) instr_o = {12'd1, 5'd0, 3'b000, 5'd0, OpSystem};        // c.ebreak
              else instr_o = i_type(12'd0, rd_full, 3'b000, 5'd1, OpJalr);                   // c.jalr
            end else begin  // c.add
              instr_o = r_type(7'b0, rs2_full, rd_full, 3'b000, rd_full);
            end
          end
          3'b110: instr_o = s_type(swsp_off, rs2_full, 5'd2, 3'b010, OpStore);                 // c.swsp
          default: illegal_o = 1'b1;
        endcase
      end
      default: illegal_o = 1'b1;  // 2'b11 is not a compressed instruction
    endcase
  end

endmodule
