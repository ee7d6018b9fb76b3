/*
 * regvm: a register-machine interpreter (unlike benches/programs/bytecode.c,
 * which is a stack machine). Instructions are 32-bit words with an 8-bit
 * opcode and three 8-bit register operands or a 16-bit immediate; dispatch
 * goes through a table of handler function pointers called in a loop.
 * Three guest programs: a sieve over guest memory, a GCD sum over pairs,
 * and an insertion sort of pseudo-random guest data.
 *
 * argv[1]: workload scale (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SIZE 3000

enum { LI, MOV, ADD, SUB, MUL, DIVU, REMU, ADDI, SHLI, SHRI, AND, XOR, LD, ST,
       BEQ, BNE, BLT, BGE, JMP, HALT, NOPS };

#define I3(op, a, b, c) ((uint32_t)(op) | (uint32_t)(a) << 8 | (uint32_t)(b) << 16 | (uint32_t)(c) << 24)
#define II(op, a, imm) ((uint32_t)(op) | (uint32_t)(a) << 8 | (uint32_t)(uint16_t)(imm) << 16)

typedef struct vm {
    uint32_t r[16];
    uint32_t *mem;
    uint32_t mask;
    const uint32_t *code;
    uint32_t pc;
    int running;
    uint64_t steps;
} vm_t;

#define A(w) (((w) >> 8) & 15)
#define B(w) (((w) >> 16) & 15)
#define C(w) (((w) >> 24) & 15)
#define IMM(w) ((int32_t)(int16_t)((w) >> 16))

typedef void (*handler)(vm_t *, uint32_t);
static void h_li(vm_t *m, uint32_t w) { m->r[A(w)] = (uint32_t)IMM(w); }
static void h_mov(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)]; }
static void h_add(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)] + m->r[C(w)]; }
static void h_sub(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)] - m->r[C(w)]; }
static void h_mul(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)] * m->r[C(w)]; }
static void h_divu(vm_t *m, uint32_t w) { uint32_t d = m->r[C(w)]; m->r[A(w)] = d ? m->r[B(w)] / d : 0; }
static void h_remu(vm_t *m, uint32_t w) { uint32_t d = m->r[C(w)]; m->r[A(w)] = d ? m->r[B(w)] % d : m->r[B(w)]; }
static void h_addi(vm_t *m, uint32_t w) { m->r[A(w)] += (uint32_t)IMM(w); }
static void h_shli(vm_t *m, uint32_t w) { m->r[A(w)] <<= (IMM(w) & 31); }
static void h_shri(vm_t *m, uint32_t w) { m->r[A(w)] >>= (IMM(w) & 31); }
static void h_and(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)] & m->r[C(w)]; }
static void h_xor(vm_t *m, uint32_t w) { m->r[A(w)] = m->r[B(w)] ^ m->r[C(w)]; }
static void h_ld(vm_t *m, uint32_t w) { m->r[A(w)] = m->mem[m->r[B(w)] & m->mask]; }
static void h_st(vm_t *m, uint32_t w) { m->mem[m->r[B(w)] & m->mask] = m->r[A(w)]; }
/* branches: A and B are registers, C is a signed 8-bit offset */
#define OFF(w) ((int32_t)(int8_t)((w) >> 24))
static void h_beq(vm_t *m, uint32_t w) { if (m->r[A(w)] == m->r[B(w)]) m->pc += (uint32_t)OFF(w) - 1; }
static void h_bne(vm_t *m, uint32_t w) { if (m->r[A(w)] != m->r[B(w)]) m->pc += (uint32_t)OFF(w) - 1; }
static void h_blt(vm_t *m, uint32_t w) { if (m->r[A(w)] < m->r[B(w)]) m->pc += (uint32_t)OFF(w) - 1; }
static void h_bge(vm_t *m, uint32_t w) { if (m->r[A(w)] >= m->r[B(w)]) m->pc += (uint32_t)OFF(w) - 1; }
static void h_jmp(vm_t *m, uint32_t w) { m->pc += (uint32_t)IMM(w) - 1; }
static void h_halt(vm_t *m, uint32_t w) { (void)w; m->running = 0; }

static const handler TABLE[NOPS] = {h_li, h_mov, h_add, h_sub, h_mul, h_divu, h_remu, h_addi,
                                    h_shli, h_shri, h_and, h_xor, h_ld, h_st, h_beq, h_bne,
                                    h_blt, h_bge, h_jmp, h_halt};

static void run(vm_t *m) {
    m->pc = 0;
    m->running = 1;
    while (m->running) {
        uint32_t w = m->code[m->pc++];
        TABLE[w & 0xff](m, w);
        m->steps++;
    }
}
#define BR(op, a, b, off) I3(op, a, b, (uint8_t)(int8_t)(off))

/* gcd sum: for a in 1..r1, b in 1..r1 step 7: r0 += gcd(a, b) */
static const uint32_t GCD[] = {
    II(LI, 0, 0), II(LI, 2, 1),              /* 0,1 a=1 */
    BR(BGE, 2, 1, 16),                       /* 2: a>=n -> 18 */
    II(LI, 3, 1),                            /* 3: b=1 */
    BR(BGE, 3, 1, 12),                       /* 4: b>=n -> 16 */
    I3(MOV, 4, 2, 0), I3(MOV, 5, 3, 0),      /* 5,6: x=a y=b */
    II(LI, 7, 0), BR(BEQ, 5, 7, 5),          /* 7,8: y==0 -> 13 */
    I3(REMU, 6, 4, 5), I3(MOV, 4, 5, 0), I3(MOV, 5, 6, 0), /* 9,10,11 */
    BR(BNE, 5, 7, -3),                       /* 12: y!=0 -> 9 */
    I3(ADD, 0, 0, 4),                        /* 13: sum += x */
    II(ADDI, 3, 7),                          /* 14: b += 7 */
    II(JMP, 0, -11),                         /* 15: -> 4 */
    II(ADDI, 2, 1),                          /* 16: a++ */
    II(JMP, 0, -15),                         /* 17: -> 2 */
    II(HALT, 0, 0),                          /* 18 */
};

/* insertion sort of mem[0..r1) in place */
static const uint32_t ISORT[] = {
    II(LI, 2, 1),                            /* 0: i=1 */
    BR(BGE, 2, 1, 16),                       /* 1: i>=n -> 17 */
    I3(LD, 3, 2, 0),                         /* 2: key=mem[i] */
    I3(MOV, 4, 2, 0),                        /* 3: j=i */
    II(LI, 7, 0),                            /* 4 */
    BR(BEQ, 4, 7, 9),                        /* 5: j==0 -> 14 */
    I3(MOV, 5, 4, 0), II(ADDI, 5, -1),       /* 6,7: k=j-1 */
    I3(LD, 6, 5, 0),                         /* 8: v=mem[k] */
    BR(BGE, 3, 6, 5),                        /* 9: key>=v -> 14 */
    I3(ST, 6, 4, 0),                         /* 10: mem[j]=v */
    I3(MOV, 4, 5, 0),                        /* 11: j=k */
    II(JMP, 0, -7),                          /* 12: -> 5 */
    II(HALT, 0, 0),                          /* 13: unreachable */
    I3(ST, 3, 4, 0),                         /* 14: mem[j]=key */
    II(ADDI, 2, 1),                          /* 15 */
    II(JMP, 0, -15),                         /* 16: -> 1 */
    II(HALT, 0, 0),                          /* 17 */
};

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    uint64_t sum = 0;
    vm_t m = {0};
    m.mask = (1u << 20) - 1;
    m.mem = calloc(m.mask + 1, sizeof(uint32_t));

    /* sieve: r1 = n; marks composites in mem[0..n), counts primes in r0 */
    static const uint32_t SIEVE[] = {
        II(LI, 0, 0), II(LI, 2, 2),
        BR(BGE, 2, 1, 13),                   /* 2 -> 15 */
        I3(LD, 3, 2, 0),
        II(LI, 4, 0), BR(BNE, 3, 4, 8),      /* 5 -> 13 */
        II(ADDI, 0, 1),
        I3(MUL, 5, 2, 2),
        BR(BGE, 5, 1, 5),                    /* 8 -> 13 */
        II(LI, 6, 1),
        I3(ST, 6, 5, 0),
        I3(ADD, 5, 5, 2),
        II(JMP, 0, -4),                      /* 12 -> 8 */
        II(ADDI, 2, 1),                      /* 13 */
        II(JMP, 0, -12),                     /* 14 -> 2 */
        II(HALT, 0, 0),                      /* 15 */
    };
    uint32_t limit = (uint32_t)n * 80;
    if (limit > m.mask) limit = m.mask;
    for (int rep = 0; rep < 4; rep++) {
        for (uint32_t i = 0; i <= m.mask; i++) m.mem[i] = 0;
        m.code = SIEVE;
        m.r[1] = limit - (uint32_t)rep * (limit / 8);
        run(&m);
        sum = sum * 31 + m.r[0];
    }

    m.code = GCD;
    m.r[1] = (uint32_t)n / 6;
    run(&m);
    sum = sum * 31 + m.r[0];

    uint32_t s = 12345;
    for (uint32_t i = 0; i < (uint32_t)n / 3; i++) { s = s * 1103515245u + 12345u; m.mem[i] = s >> 8; }
    m.code = ISORT;
    m.r[1] = (uint32_t)n / 3;
    run(&m);
    for (uint32_t i = 0; i < (uint32_t)n / 3; i++) sum = sum * 31 + m.mem[i] * (i + 1);
    sum = sum * 31 + m.steps;
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
