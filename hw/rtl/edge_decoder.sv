// Instruction decoder: RV32IM + Zicsr + the custom instructions of xedge and xdec (decode constants,
// access sizes and extension membership generated from riscv_ext/spec.py into edge_insn_pkg).
module edge_decoder
  import edge_core_pkg::*;
  import edge_insn_pkg::*;
#(
  parameter bit EnableXedge = 1'b1,  // 0: the custom instructions are illegal (the baseline core)
  parameter bit EnableXdec = 1'b1    // 0: the decimating loads are illegal (the xedge core)
) (
  input  logic [31:0] instr_i,
  output decoded_t    dec_o
);
  localparam logic [6:0] OpLoad = 7'b0000011, OpMiscMem = 7'b0001111, OpImm = 7'b0010011,
                         OpAuipc = 7'b0010111, OpStore = 7'b0100011, OpReg = 7'b0110011,
                         OpLui = 7'b0110111, OpBranch = 7'b1100011, OpJalr = 7'b1100111,
                         OpJal = 7'b1101111, OpSystem = 7'b1110011;

  logic [6:0] opcode, funct7;
  logic [2:0] funct3;
  logic [31:0] imm_i, imm_s, imm_b, imm_u, imm_j;
  xop_e xop, xop_raw;
  logic cls_simd, cls_mem, cls_loop;

  assign opcode = instr_i[6:0];
  assign funct3 = instr_i[14:12];
  assign funct7 = instr_i[31:25];
  assign imm_i  = {{20{instr_i[31]}}, instr_i[31:20]};
  assign imm_s  = {{20{instr_i[31]}}, instr_i[31:25], instr_i[11:7]};
  assign imm_b  = {{19{instr_i[31]}}, instr_i[31], instr_i[7], instr_i[30:25], instr_i[11:8], 1'b0};
  assign imm_u  = {instr_i[31:12], 12'b0};
  assign imm_j  = {{11{instr_i[31]}}, instr_i[31], instr_i[19:12], instr_i[20], instr_i[30:21], 1'b0};

  edge_xedge_decoder u_xedge_decoder (
    .instr_i   (instr_i),
    .xop_o     (xop_raw),
    .cls_simd_o(cls_simd),
    .cls_mem_o (cls_mem),
    .cls_loop_o(cls_loop)
  );
  assign xop = (EnableXedge && (EnableXdec || !xop_in_xdec(xop_raw))) ? xop_raw : XOP_NONE;

  // Access size / signedness from a base-ISA load/store width code.
  function automatic logic width_ok(logic [2:0] code, logic is_load);
    width_ok = code == 3'b000 || code == 3'b001 || code == 3'b010 ||
           (is_load && (code == 3'b100 || code == 3'b101));
  endfunction

  always_comb begin
    dec_o = '0;
    dec_o.rd = instr_i[11:7];
    dec_o.rs1 = instr_i[19:15];
    dec_o.rs2 = instr_i[24:20];
    dec_o.alu_op = AluAdd;
    dec_o.op_a = OpASrc1;
    dec_o.op_b = OpBImm;
    dec_o.res = ResAlu;
    dec_o.imm = imm_i;
    dec_o.mem_size = funct3[1:0];
    dec_o.mem_unsigned = funct3[2];
    dec_o.branch_cond = funct3;
    dec_o.muldiv_op = funct3;
    dec_o.csr_op = funct3[1:0];
    dec_o.csr_imm = funct3[2];

    if (xop != XOP_NONE) begin
      dec_o.cls_simd = cls_simd;
      dec_o.cls_mem  = cls_mem;
      dec_o.cls_loop = cls_loop;
      if (dec_o.cls_simd) begin
        dec_o.use_rs1 = 1'b1;
        dec_o.use_rs2 = 1'b1;
        dec_o.use_rd = 1'b1;
        dec_o.rd_we = 1'b1;
        dec_o.dotp_unsigned_a = xop == XOP_SDOTUSP_B;
        dec_o.res = ResDotp;
      end else if (opcode == OpCustom3) begin  // bdnz
        dec_o.use_rs1 = 1'b1;
        dec_o.rs1_we = 1'b1;
        dec_o.loop_close = 1'b1;
        dec_o.imm = imm_b;
      end else if (xop_in_xdec(xop)) begin  // decimating load: rs1 + displacement(rs2, sel), merged into rd
        dec_o.use_rs1 = 1'b1;
        dec_o.use_rs2 = 1'b1;
        dec_o.use_rd = 1'b1;
        dec_o.rd_we = 1'b1;
        dec_o.load = 1'b1;
        dec_o.op_b = OpBDlb;
        dec_o.res = ResRd;
        dec_o.dlb_merge = 1'b1;
        dec_o.dlb_bits = xop_dlb_bits(xop);
        dec_o.mem_size = xop_mem_size(xop);
        dec_o.mem_unsigned = xop_mem_unsigned(xop);
      end else if (opcode == OpCustom0) begin  // register + register load
        dec_o.use_rs1 = 1'b1;
        dec_o.use_rs2 = 1'b1;
        dec_o.rd_we = 1'b1;
        dec_o.load = 1'b1;
        dec_o.op_b = OpBSrc2;
        dec_o.mem_size = xop_mem_size(xop);
        dec_o.mem_unsigned = xop_mem_unsigned(xop);
      end else begin  // post-increment load (I) or store (S)
        dec_o.use_rs1 = 1'b1;
        dec_o.rs1_we = 1'b1;
        dec_o.mem_post_inc = 1'b1;
        dec_o.mem_size = xop_mem_size(xop);
        dec_o.mem_unsigned = xop_mem_unsigned(xop);
        if (opcode == OpCustom1) begin
          dec_o.load = 1'b1;
          dec_o.rd_we = 1'b1;
        end else if (opcode == OpCustom2) begin
          dec_o.store = 1'b1;
          dec_o.use_rs2 = 1'b1;
          dec_o.imm = imm_s;
        end
      end
    end else begin
      unique case (opcode)
        OpLui: begin
          dec_o.rd_we = 1'b1;
          dec_o.op_a = OpAZero;
          dec_o.imm = imm_u;
        end
        OpAuipc: begin
          dec_o.rd_we = 1'b1;
          dec_o.op_a = OpAPc;
          dec_o.imm = imm_u;
        end
        OpJal: begin
          dec_o.rd_we = 1'b1;
          dec_o.jal = 1'b1;
          dec_o.res = ResPcNext;
          dec_o.imm = imm_j;
        end
        OpJalr: begin
          dec_o.rd_we = 1'b1;
          dec_o.use_rs1 = 1'b1;
          dec_o.jalr = 1'b1;
          dec_o.res = ResPcNext;
          dec_o.illegal = funct3 != 3'b000;
        end
        OpBranch: begin
          dec_o.use_rs1 = 1'b1;
          dec_o.use_rs2 = 1'b1;
          dec_o.branch = 1'b1;
          dec_o.imm = imm_b;
          dec_o.illegal = funct3 == 3'b010 || funct3 == 3'b011;
        end
        OpLoad: begin
          dec_o.rd_we = 1'b1;
          dec_o.use_rs1 = 1'b1;
          dec_o.load = 1'b1;
          dec_o.illegal = !width_ok(funct3, 1'b1);
        end
        OpStore: begin
          dec_o.use_rs1 = 1'b1;
          dec_o.use_rs2 = 1'b1;
          dec_o.store = 1'b1;
          dec_o.imm = imm_s;
          dec_o.illegal = !width_ok(funct3, 1'b0);
        end
        OpImm: begin
          dec_o.rd_we = 1'b1;
          dec_o.use_rs1 = 1'b1;
          unique case (funct3)
            3'b000: dec_o.alu_op = AluAdd;
            3'b010: dec_o.alu_op = AluSlt;
            3'b011: dec_o.alu_op = AluSltu;
            3'b100: dec_o.alu_op = AluXor;
            3'b110: dec_o.alu_op = AluOr;
            3'b111: dec_o.alu_op = AluAnd;
            3'b001: begin
              dec_o.alu_op = AluSll;
              dec_o.illegal = funct7 != 7'b0;
            end
            default: begin
              dec_o.alu_op = funct7[5] ? AluSra : AluSrl;
              dec_o.illegal = {funct7[6], funct7[4:0]} != 6'b0;
            end
          endcase
        end
        OpReg: begin
          dec_o.rd_we = 1'b1;
          dec_o.use_rs1 = 1'b1;
          dec_o.use_rs2 = 1'b1;
          dec_o.op_b = OpBSrc2;
          if (funct7 == 7'b0000001) begin
            dec_o.muldiv = 1'b1;
            dec_o.res = ResMulDiv;
          end else begin
            unique case (funct3)
              3'b000: dec_o.alu_op = funct7[5] ? AluSub : AluAdd;
              3'b001: dec_o.alu_op = AluSll;
              3'b010: dec_o.alu_op = AluSlt;
              3'b011: dec_o.alu_op = AluSltu;
              3'b100: dec_o.alu_op = AluXor;
              3'b101: dec_o.alu_op = funct7[5] ? AluSra : AluSrl;
              3'b110: dec_o.alu_op = AluOr;
              default: dec_o.alu_op = AluAnd;
            endcase
            dec_o.illegal = !(funct7 == 7'b0 || (funct7 == 7'b0100000 && (funct3 == 3'b000 || funct3 == 3'b101)));
          end
        end
        OpMiscMem: begin  // fence, fence.i: the core has no caches or buffers to order
          dec_o.illegal = funct3 != 3'b000 && funct3 != 3'b001;
        end
        OpSystem: begin
          if (funct3 == 3'b000) begin
            unique case (instr_i)
              32'h0000_0073: dec_o.ecall = 1'b1;
              32'h0010_0073: dec_o.ebreak = 1'b1;
              32'h3020_0073: dec_o.mret = 1'b1;
              32'h1050_0073: dec_o.wfi = 1'b1;
              default: dec_o.illegal = 1'b1;
            endcase
          end else if (funct3 == 3'b100) begin
            dec_o.illegal = 1'b1;
          end else begin
            dec_o.csr = 1'b1;
            dec_o.rd_we = 1'b1;
            dec_o.use_rs1 = !funct3[2];
            dec_o.res = ResCsr;
          end
        end
        default: dec_o.illegal = 1'b1;
      endcase
    end
  end

endmodule
