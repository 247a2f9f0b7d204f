// Types and constants shared by the edge core's modules.
package edge_core_pkg;

  typedef enum logic [3:0] {
    AluAdd, AluSub, AluSll, AluSlt, AluSltu, AluXor, AluSrl, AluSra, AluOr, AluAnd, AluPassB
  } alu_op_e;

  typedef enum logic [1:0] { OpASrc1, OpAPc, OpAZero } op_a_sel_e;
  typedef enum logic [1:0] { OpBSrc2, OpBImm, OpBDlb } op_b_sel_e;  // OpBDlb: decimating-load displacement

  typedef enum logic [2:0] { ResAlu, ResMulDiv, ResDotp, ResCsr, ResPcNext, ResRd } res_sel_e;

  // Exception causes (mcause).
  localparam logic [4:0] CauseFetchFault   = 5'd1;
  localparam logic [4:0] CauseIllegal      = 5'd2;
  localparam logic [4:0] CauseBreakpoint   = 5'd3;
  localparam logic [4:0] CauseLoadMisalign = 5'd4;
  localparam logic [4:0] CauseLoadFault    = 5'd5;
  localparam logic [4:0] CauseStoreMisalign = 5'd6;
  localparam logic [4:0] CauseStoreFault   = 5'd7;
  localparam logic [4:0] CauseEcallM       = 5'd11;

  // One decoded instruction: everything the execute stage needs.
  typedef struct packed {
    logic        illegal;
    logic [4:0]  rd;
    logic [4:0]  rs1;
    logic [4:0]  rs2;
    logic        use_rs1;
    logic        use_rs2;
    logic        use_rd;       // rd is also a source (dot-product accumulate)
    logic        rd_we;
    logic        rs1_we;       // post-increment base update
    logic [31:0] imm;
    alu_op_e     alu_op;
    op_a_sel_e   op_a;
    op_b_sel_e   op_b;
    res_sel_e    res;
    logic        load;
    logic        store;
    logic [1:0]  mem_size;     // 0 byte, 1 half, 2 word
    logic        mem_unsigned;
    logic        mem_post_inc; // address = rs1, base += imm
    logic        dlb_merge;    // decimating load: rd = (rd >> 8) | byte << 24
    logic [2:0]  dlb_bits;     // its offset-field width log2(M)
    logic        branch;
    logic [2:0]  branch_cond;  // funct3 of the branch
    logic        jal;
    logic        jalr;
    logic        loop_close;   // bdnz
    logic        muldiv;
    logic [2:0]  muldiv_op;    // funct3 of the M instruction
    logic        dotp_unsigned_a;
    logic        csr;
    logic [1:0]  csr_op;       // 1 write, 2 set, 3 clear
    logic        csr_imm;
    logic        ecall;
    logic        ebreak;
    logic        mret;
    logic        wfi;          // waits in execute until an enabled interrupt is pending
    logic        cls_simd;
    logic        cls_mem;
    logic        cls_loop;
  } decoded_t;

endpackage
