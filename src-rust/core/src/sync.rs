//! Locks that are safe across `fork()`.
//!
//! A forked child starts with one thread, the one that called `fork`. A lock that any
//! other thread held at that instant stays locked in the child for good, and the data
//! it guarded may be half-updated. So no critical section may span a fork: every lock
//! in vumeter is one of the [`Mutex`] and [`RwLock`] below, which take the lock only
//! inside a *fork gate* section. A `pthread_atfork` prepare handler closes the gate
//! (new sections wait) and waits until the sections in flight have ended; the parent
//! and the child reopen it once the process is copied. The child therefore inherits
//! every lock unlocked and every structure in a state between two operations.
//!
//! The wait is bounded because a section only ever runs Rust code: nothing in one may
//! call into Python or wait for the interpreter lock (which the forking thread holds),
//! and nothing in one may drop a Python object (its destructor is Python code).
//! Sections nest: a thread already inside one enters again without waiting, so a
//! fork that closes the gate between the two can never wait on the thread itself.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::PoisonError;

/// Sections in flight, summed over all threads (a nested section counts once).
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Set while a fork is being prepared: new outermost sections wait.
static CLOSED: AtomicBool = AtomicBool::new(false);
static HANDLERS_INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// How deep this thread is in nested sections.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Proof that the calling thread is inside a fork gate section; leaving it (drop)
/// lets a pending fork go ahead once no other section is in flight.
#[must_use = "the section ends when this is dropped"]
pub struct Section {
    // Tied to the thread that entered (the depth counter is thread-local).
    _not_send: PhantomData<*const ()>,
}

/// Enters a fork gate section, waiting first while a fork is being prepared.
#[inline]
pub fn enter() -> Section {
    if !HANDLERS_INSTALLED.load(Ordering::Relaxed) {
        install_fork_handlers();
    }
    DEPTH.with(|depth| {
        let outer = depth.get();
        if outer == 0 {
            loop {
                // SeqCst on both sides (here: count, then check; in `prepare`: close,
                // then read the count) means a section and a fork never both miss
                // each other.
                ACTIVE.fetch_add(1, Ordering::SeqCst);
                if !CLOSED.load(Ordering::SeqCst) {
                    break;
                }
                ACTIVE.fetch_sub(1, Ordering::SeqCst);
                wait_while(|| CLOSED.load(Ordering::SeqCst));
            }
        }
        depth.set(outer + 1);
    });
    Section {
        _not_send: PhantomData,
    }
}

impl Drop for Section {
    #[inline]
    fn drop(&mut self) {
        DEPTH.with(|depth| {
            let inner = depth.get() - 1;
            depth.set(inner);
            if inner == 0 {
                ACTIVE.fetch_sub(1, Ordering::Release);
            }
        });
    }
}

/// Spins briefly, then yields, then sleeps: a fork or a section lasts microseconds to
/// milliseconds (copying a large process's page tables).
fn wait_while(condition: impl Fn() -> bool) {
    let mut rounds = 0u32;
    while condition() {
        if rounds < 64 {
            std::hint::spin_loop();
        } else if rounds < 128 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(50));
        }
        rounds = rounds.saturating_add(1);
    }
}

/// Closes the gate and waits for every section in flight (other than the calling
/// thread's own) to end. Called right before `fork`.
pub fn prepare_fork() {
    CLOSED.store(true, Ordering::SeqCst);
    let own = DEPTH.with(|d| usize::from(d.get() > 0));
    wait_while(|| ACTIVE.load(Ordering::SeqCst) != own);
}

/// Reopens the gate in the parent after `fork`.
pub fn after_fork_in_parent() {
    CLOSED.store(false, Ordering::SeqCst);
}

/// Reopens the gate in the child after `fork`, where the forking thread is the only
/// one left: only its own section, if any, is still in flight.
pub fn after_fork_in_child() {
    let own = DEPTH.with(|d| usize::from(d.get() > 0));
    ACTIVE.store(own, Ordering::SeqCst);
    CLOSED.store(false, Ordering::SeqCst);
}

/// Registers [`prepare_fork`] and the two `after_fork` functions with
/// `pthread_atfork`, once per process. [`enter`] calls it, so nothing else has to.
pub fn install_fork_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(unix, not(miri)))]
        {
            extern "C" fn prepare() {
                prepare_fork();
            }
            extern "C" fn parent() {
                after_fork_in_parent();
            }
            extern "C" fn child() {
                after_fork_in_child();
                // A forked child writes cells of its own, never into its parent's file.
                crate::multiprocess::backend::after_fork_in_child();
            }
            // SAFETY: the three handlers are plain functions that live as long as the
            // process. They touch atomics and a const-initialised thread-local; the
            // child's also takes the multi-process backend's lock, which the gate makes
            // sure no thread held at the fork, and closes the child's copy of a file.
            let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
            assert_eq!(rc, 0, "pthread_atfork failed");
        }
        HANDLERS_INSTALLED.store(true, Ordering::Relaxed);
    });
}

/// A mutex whose critical sections are fork gate sections. Poisoning is ignored: the
/// data behind every lock here is updated so that a panic cannot leave it half-written.
#[derive(Default)]
pub struct Mutex<T>(std::sync::Mutex<T>);

pub struct MutexGuard<'a, T> {
    // Declared first so it is dropped (unlocked) before the section ends.
    guard: std::sync::MutexGuard<'a, T>,
    _section: Section,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex(std::sync::Mutex::new(value))
    }

    pub fn lock(&self) -> MutexGuard<'_, T> {
        let section = enter();
        MutexGuard {
            guard: self.0.lock().unwrap_or_else(PoisonError::into_inner),
            _section: section,
        }
    }
}

impl<T> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

/// A reader-writer lock whose critical sections are fork gate sections.
#[derive(Default)]
pub struct RwLock<T>(std::sync::RwLock<T>);

pub struct ReadGuard<'a, T> {
    guard: std::sync::RwLockReadGuard<'a, T>,
    _section: Section,
}

pub struct WriteGuard<'a, T> {
    guard: std::sync::RwLockWriteGuard<'a, T>,
    _section: Section,
}

impl<T> RwLock<T> {
    pub const fn new(value: T) -> Self {
        RwLock(std::sync::RwLock::new(value))
    }

    pub fn read(&self) -> ReadGuard<'_, T> {
        let section = enter();
        ReadGuard {
            guard: self.0.read().unwrap_or_else(PoisonError::into_inner),
            _section: section,
        }
    }

    /// A read lock if one is free right now (for the garbage collector's traversal,
    /// which must never wait).
    pub fn try_read(&self) -> Option<ReadGuard<'_, T>> {
        let section = enter();
        let guard = match self.0.try_read() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(ReadGuard {
            guard,
            _section: section,
        })
    }

    pub fn write(&self) -> WriteGuard<'_, T> {
        let section = enter();
        WriteGuard {
            guard: self.0.write().unwrap_or_else(PoisonError::into_inner),
            _section: section,
        }
    }
}

impl<T> std::ops::Deref for ReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::Deref for WriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for WriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    // One test drives the global gate, so no other test of this module races it.
    #[test]
    fn prepare_waits_for_sections_and_blocks_new_ones() {
        let lock = Arc::new(Mutex::new(0u32));
        let held = lock.lock();
        let entered = Arc::new(AtomicBool::new(false));
        let preparing = std::thread::spawn(|| {
            prepare_fork();
            // The fork would happen here; no section is in flight.
            assert_eq!(ACTIVE.load(Ordering::SeqCst), 0);
            after_fork_in_parent();
        });
        // Wait until the gate is closed, then show a new section has to wait.
        wait_while(|| !CLOSED.load(Ordering::SeqCst));
        let waiter = {
            let (lock, entered) = (Arc::clone(&lock), Arc::clone(&entered));
            std::thread::spawn(move || {
                *lock.lock() += 1;
                entered.store(true, Ordering::SeqCst);
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(if cfg!(miri) {
            1
        } else {
            20
        }));
        assert!(!entered.load(Ordering::SeqCst), "entered a closed gate");
        // A nested section of a thread already inside one does not wait.
        let nested = enter();
        drop(nested);
        drop(held);
        preparing.join().unwrap();
        waiter.join().unwrap();
        assert!(entered.load(Ordering::SeqCst));
        assert_eq!(*lock.lock(), 1);
        assert_eq!(ACTIVE.load(Ordering::SeqCst), 0);
    }
}
