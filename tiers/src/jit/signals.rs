//! SIGSEGV/SIGBUS handling for guard-page bounds checks (design.md §4).
//!
//! A fault whose pc is a trap site of JIT code is turned into a trap by rewriting the signal
//! context: `rip` = the trap stub, `rax` = the trap code (`r15` still holds the vmctx, which
//! the stub needs). Any other fault is passed to the handler installed before ours (Rust's
//! stack-overflow handler, a sanitizer's, or the default action), so real crashes stay
//! crashes. Installed once per process; the handler allocates nothing.

use super::code_memory::lookup_trap;
use super::trampoline::trap_stub;
use std::mem::MaybeUninit;
use std::sync::Once;

static INSTALL: Once = Once::new();
static mut PREV_SEGV: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();
static mut PREV_BUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

/// Installs the handler (idempotent).
pub fn install() {
    // Build the stub before any fault can need it: the handler must not allocate.
    let _ = trap_stub();
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a fully initialised struct; the previous actions are saved
        // before ours can run (they are written here, inside `call_once`, and only read by
        // the handler afterwards).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(
                libc::SIGSEGV,
                &sa,
                (&raw mut PREV_SEGV).cast::<libc::sigaction>(),
            );
            libc::sigaction(
                libc::SIGBUS,
                &sa,
                (&raw mut PREV_BUS).cast::<libc::sigaction>(),
            );
        }
    });
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid ucontext_t for SA_SIGINFO handlers.
    let uc = unsafe { &mut *(ctx as *mut libc::ucontext_t) };
    let pc = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    if let Some(code) = lookup_trap(pc) {
        uc.uc_mcontext.gregs[libc::REG_RIP as usize] = trap_stub() as i64;
        uc.uc_mcontext.gregs[libc::REG_RAX as usize] = code as u8 as i64;
        uc.uc_mcontext.gregs[libc::REG_RDX as usize] = pc as i64;
        return;
    }
    // Not ours: hand over to the previous handler.
    // SAFETY: PREV_* were written by `install` before this handler was installed.
    let prev = unsafe {
        if sig == libc::SIGBUS {
            &*(&raw const PREV_BUS).cast::<libc::sigaction>()
        } else {
            &*(&raw const PREV_SEGV).cast::<libc::sigaction>()
        }
    };
    let action = prev.sa_sigaction;
    if action == libc::SIG_DFL || action == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again and
        // the process dies of the signal, as it would have without us.
        // SAFETY: resetting a signal's disposition to the default.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
        return;
    }
    // SAFETY: calling the previously installed handler with the arguments the kernel gave
    // us, in the form it registered (with or without SA_SIGINFO).
    unsafe {
        if prev.sa_flags & libc::SA_SIGINFO != 0 {
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                std::mem::transmute(action);
            f(sig, info, ctx);
        } else {
            let f: extern "C" fn(libc::c_int) = std::mem::transmute(action);
            f(sig);
        }
    }
}
