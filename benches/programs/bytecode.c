/*
 * bytecode: a stack-based bytecode interpreter with switch dispatch.
 *
 * A tiny assembler (written in C below) emits three programs for a VM with
 * an operand stack, local slots, a small data memory, conditional jumps and
 * call/return:
 *   1. counting primes below a bound by trial division,
 *   2. a Collatz-sequence length search,
 *   3. a recursive Fibonacci (exercises CALL/RET frames),
 * and the main loop interprets them with a big switch statement.
 *
 * argv[1]: workload scale (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 100000

enum {
    OP_HALT, OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER,
    OP_LOAD, OP_STORE, OP_INC,             /* locals */
    OP_MLOAD, OP_MSTORE,                   /* data memory */
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD,
    OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR,
    OP_LT, OP_LE, OP_EQ, OP_NE,
    OP_JMP, OP_JZ, OP_JNZ,
    OP_CALL, OP_RET,
    OP_PRINT, /* folds top of stack into the checksum */
    OP_COUNT
};

typedef struct {
    int32_t code[4096];
    int len;
} prog_t;

static void emit(prog_t *p, int32_t v) { p->code[p->len++] = v; }
static void emit2(prog_t *p, int32_t op, int32_t arg) {
    emit(p, op);
    emit(p, arg);
}
static int here(const prog_t *p) { return p->len; }
static int jump_fwd(prog_t *p, int32_t op) {
    emit2(p, op, 0);
    return p->len - 1;
}
static void patch(prog_t *p, int at) { p->code[at] = p->len; }

typedef struct {
    int64_t stack[1024];
    int32_t frames[256 * 2]; /* return pc, locals base */
    int64_t locals[256 * 8];
    int64_t mem[1024];
    uint64_t checksum;
    uint64_t steps;
} vm_t;

#define NLOCALS 8

static int run(vm_t *vm, const prog_t *p, int64_t arg) {
    const int32_t *code = p->code;
    int64_t *sp = vm->stack; /* points to next free slot */
    int64_t *lp = vm->locals;
    int fp = 0;
    int pc = 0;
    uint64_t steps = 0;
    memset(lp, 0, sizeof(int64_t) * NLOCALS);
    *sp++ = arg;
    for (;;) {
        steps++;
        int32_t op = code[pc++];
        switch (op) {
        case OP_HALT:
            vm->steps += steps;
            return 0;
        case OP_PUSH: *sp++ = code[pc++]; break;
        case OP_POP: sp--; break;
        case OP_DUP: sp[0] = sp[-1]; sp++; break;
        case OP_SWAP: { int64_t t = sp[-1]; sp[-1] = sp[-2]; sp[-2] = t; break; }
        case OP_OVER: sp[0] = sp[-2]; sp++; break;
        case OP_LOAD: *sp++ = lp[code[pc++]]; break;
        case OP_STORE: lp[code[pc++]] = *--sp; break;
        case OP_INC: lp[code[pc++]]++; break;
        case OP_MLOAD: sp[-1] = vm->mem[sp[-1] & 1023]; break;
        case OP_MSTORE: vm->mem[sp[-1] & 1023] = sp[-2]; sp -= 2; break;
        case OP_ADD: sp[-2] = sp[-2] + sp[-1]; sp--; break;
        case OP_SUB: sp[-2] = sp[-2] - sp[-1]; sp--; break;
        case OP_MUL: sp[-2] = (int64_t)((uint64_t)sp[-2] * (uint64_t)sp[-1]); sp--; break;
        case OP_DIV: sp[-2] = sp[-1] ? sp[-2] / sp[-1] : 0; sp--; break;
        case OP_MOD: sp[-2] = sp[-1] ? sp[-2] % sp[-1] : 0; sp--; break;
        case OP_AND: sp[-2] &= sp[-1]; sp--; break;
        case OP_OR: sp[-2] |= sp[-1]; sp--; break;
        case OP_XOR: sp[-2] ^= sp[-1]; sp--; break;
        case OP_SHL: sp[-2] = (int64_t)((uint64_t)sp[-2] << (sp[-1] & 63)); sp--; break;
        case OP_SHR: sp[-2] = (int64_t)((uint64_t)sp[-2] >> (sp[-1] & 63)); sp--; break;
        case OP_LT: sp[-2] = sp[-2] < sp[-1]; sp--; break;
        case OP_LE: sp[-2] = sp[-2] <= sp[-1]; sp--; break;
        case OP_EQ: sp[-2] = sp[-2] == sp[-1]; sp--; break;
        case OP_NE: sp[-2] = sp[-2] != sp[-1]; sp--; break;
        case OP_JMP: pc = code[pc]; break;
        case OP_JZ: pc = *--sp == 0 ? code[pc] : pc + 1; break;
        case OP_JNZ: pc = *--sp != 0 ? code[pc] : pc + 1; break;
        case OP_CALL: {
            /* argument is on the stack; it becomes local 0 of the callee */
            if (fp >= 255) return -1;
            vm->frames[2 * fp] = pc + 1;
            vm->frames[2 * fp + 1] = (int32_t)(lp - vm->locals);
            fp++;
            int target = code[pc];
            lp += NLOCALS;
            memset(lp, 0, sizeof(int64_t) * NLOCALS);
            lp[0] = *--sp;
            pc = target;
            break;
        }
        case OP_RET: {
            fp--;
            pc = vm->frames[2 * fp];
            lp = vm->locals + vm->frames[2 * fp + 1];
            break; /* return value stays on the stack */
        }
        case OP_PRINT: vm->checksum = vm->checksum * 1000003u + (uint64_t)sp[-1]; break;
        default:
            return -2;
        }
    }
}

/* program 1: count primes below N by trial division (arg N on stack) */
static void build_primes(prog_t *p) {
    p->len = 0;
    emit2(p, OP_STORE, 0); /* N */
    emit2(p, OP_PUSH, 0);
    emit2(p, OP_STORE, 1); /* count */
    emit2(p, OP_PUSH, 2);
    emit2(p, OP_STORE, 2); /* i */
    int outer = here(p);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_LOAD, 0);
    emit(p, OP_LT);
    int exit_outer = jump_fwd(p, OP_JZ);
    emit2(p, OP_PUSH, 2);
    emit2(p, OP_STORE, 3); /* d */
    int inner = here(p);
    emit2(p, OP_LOAD, 3);
    emit(p, OP_DUP);
    emit(p, OP_MUL);
    emit2(p, OP_LOAD, 2);
    emit(p, OP_LE); /* d*d <= i */
    int is_prime = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_LOAD, 3);
    emit(p, OP_MOD);
    int composite = jump_fwd(p, OP_JZ);
    emit2(p, OP_INC, 3);
    emit2(p, OP_JMP, inner);
    patch(p, is_prime);
    emit2(p, OP_INC, 1);
    /* mem[count] = i */
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_LOAD, 1);
    emit(p, OP_MSTORE);
    patch(p, composite);
    emit2(p, OP_INC, 2);
    emit2(p, OP_JMP, outer);
    patch(p, exit_outer);
    emit2(p, OP_LOAD, 1);
    emit(p, OP_PRINT);
    emit(p, OP_HALT);
}

/* program 2: longest Collatz chain for starts below N (arg N on stack) */
static void build_collatz(prog_t *p) {
    p->len = 0;
    emit2(p, OP_STORE, 0); /* N */
    emit2(p, OP_PUSH, 1);
    emit2(p, OP_STORE, 1); /* start */
    emit2(p, OP_PUSH, 0);
    emit2(p, OP_STORE, 4); /* best length */
    emit2(p, OP_PUSH, 0);
    emit2(p, OP_STORE, 5); /* total steps */
    int outer = here(p);
    emit2(p, OP_LOAD, 1);
    emit2(p, OP_LOAD, 0);
    emit(p, OP_LT);
    int exit_outer = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 1);
    emit2(p, OP_STORE, 2); /* x */
    emit2(p, OP_PUSH, 0);
    emit2(p, OP_STORE, 3); /* len */
    int loop = here(p);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_PUSH, 1);
    emit(p, OP_NE);
    int done = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_PUSH, 1);
    emit(p, OP_AND);
    int even = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_PUSH, 3);
    emit(p, OP_MUL);
    emit2(p, OP_PUSH, 1);
    emit(p, OP_ADD);
    emit2(p, OP_STORE, 2);
    int join = jump_fwd(p, OP_JMP);
    patch(p, even);
    emit2(p, OP_LOAD, 2);
    emit2(p, OP_PUSH, 1);
    emit(p, OP_SHR);
    emit2(p, OP_STORE, 2);
    patch(p, join);
    emit2(p, OP_INC, 3);
    emit2(p, OP_JMP, loop);
    patch(p, done);
    /* total += len; remember len in data memory at start & 1023 */
    emit2(p, OP_LOAD, 5);
    emit2(p, OP_LOAD, 3);
    emit(p, OP_ADD);
    emit2(p, OP_STORE, 5);
    emit2(p, OP_LOAD, 3);
    emit2(p, OP_LOAD, 1);
    emit(p, OP_MSTORE);
    /* if len > best: best = len, fold start into checksum */
    emit2(p, OP_LOAD, 4);
    emit2(p, OP_LOAD, 3);
    emit(p, OP_LT);
    int no_best = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 3);
    emit2(p, OP_STORE, 4);
    emit2(p, OP_LOAD, 1);
    emit(p, OP_PRINT);
    emit(p, OP_POP);
    patch(p, no_best);
    emit2(p, OP_INC, 1);
    emit2(p, OP_JMP, outer);
    patch(p, exit_outer);
    emit2(p, OP_LOAD, 5);
    emit(p, OP_PRINT);
    emit2(p, OP_PUSH, 777);
    emit(p, OP_MLOAD);
    emit(p, OP_PRINT);
    emit(p, OP_HALT);
}

/* program 3: recursive fib(n) with CALL/RET (arg n on stack) */
static void build_fib(prog_t *p) {
    p->len = 0;
    int call_main = jump_fwd(p, OP_CALL);
    emit(p, OP_PRINT);
    emit(p, OP_HALT);
    int fib = here(p);
    p->code[call_main] = fib;
    /* if n < 2 return n */
    emit2(p, OP_LOAD, 0);
    emit2(p, OP_PUSH, 2);
    emit(p, OP_LT);
    int rec = jump_fwd(p, OP_JZ);
    emit2(p, OP_LOAD, 0);
    emit(p, OP_RET);
    patch(p, rec);
    emit2(p, OP_LOAD, 0);
    emit2(p, OP_PUSH, 1);
    emit(p, OP_SUB);
    emit2(p, OP_CALL, fib);
    emit2(p, OP_LOAD, 0);
    emit2(p, OP_PUSH, 2);
    emit(p, OP_SUB);
    emit2(p, OP_CALL, fib);
    emit(p, OP_ADD);
    emit(p, OP_RET);
}

int main(int argc, char **argv) {
    long scale = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    if (scale < 1) scale = 1;
    static vm_t vm;
    static prog_t p1, p2, p3;
    build_primes(&p1);
    build_collatz(&p2);
    build_fib(&p3);
    memset(&vm, 0, sizeof vm);

    if (run(&vm, &p1, scale * 4) != 0) return 1;
    if (run(&vm, &p2, scale * 2) != 0) return 1;
    long fn = 10;
    while (fn < 40 && (1L << ((fn - 4) * 7 / 10)) < scale * 4) fn++;
    if (run(&vm, &p3, fn) != 0) return 1;

    uint64_t sum = vm.checksum ^ (vm.steps << 1);
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
