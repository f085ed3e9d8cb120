//! Vectorcall fast paths for the per-call methods (`inc`, `dec`, `set`, `observe`,
//! `labels`).
//!
//! PyO3's generated wrappers parse every call generically (keyword names, defaults, a
//! subtype check of `self`, a tuple for `*args`), which is most of what `counter.inc()`
//! or `h.labels("a", "b")` costs. For the common shapes (`m.inc()`, `m.inc(x)`,
//! `m.set(x)`, `m.observe(x)` with `x` an exact float or int, and `m.labels(...)` with
//! exact `str` values of a series that exists), these `METH_FASTCALL` functions do the
//! same work directly. Every other shape (keywords, exemplars, other number types,
//! wrong arity, a new series) is passed unchanged to the PyO3 method, so behaviour and
//! error messages are identical either way.
//!
//! The one table in `fast_paths!` below defines each fast path once: its native class
//! and method, its argument shape, its Python signature and docstring (CPython reads
//! `name(sig)\n--\n\n` at the start of a builtin's docstring as `__text_signature__`,
//! which `inspect.signature` and `help()` use), and its call. From it come the
//! functions, their `PyMethodDef`s and what `install_fast_paths` installs on each class.
//!
//! The methods are installed on vumeter's Python classes (`Counter`, `CounterChild`, ...),
//! with each descriptor bound to that exact class: CPython checks `self` against it before
//! calling (so `Counter.inc(a_gauge)` raises TypeError), which makes the unchecked casts
//! below sound.
//!
//! They rely on PyO3 internals that may change between minor versions
//! (`Python::assume_attached`, `Bound::ref_from_ptr`, the `ffi` method-definition
//! layout); Cargo.toml pins PyO3 to its minor version for that reason.

use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyType;
use pyo3::PyTypeInfo;

use crate::counter::{CounterChild, CounterFamily};
use crate::gauge::{GaugeChild, GaugeFamily};
use crate::histogram::{HistogramChild, HistogramFamily};
use crate::labels::{BorrowedValues, MetricFamily};

/// The positional arguments of a fast call, as CPython passes them.
struct Args {
    args: *const *mut ffi::PyObject,
    nargs: usize,
}

impl Args {
    /// An exact float or int as the amount; the default when there is no argument.
    /// None: the call needs the general path.
    ///
    /// # Safety
    /// `args` holds `nargs` valid object pointers, and a thread state is attached.
    unsafe fn amount(&self, default: Option<f64>) -> Option<f64> {
        match self.nargs {
            0 => default,
            1 => {
                // SAFETY: one valid argument (the caller's contract).
                let arg = unsafe { *self.args };
                // SAFETY: type checks and reads of a valid object, thread state attached.
                unsafe {
                    if ffi::PyFloat_CheckExact(arg) != 0 {
                        Some(ffi::PyFloat_AS_DOUBLE(arg))
                    } else if ffi::PyLong_CheckExact(arg) != 0 {
                        let value = ffi::PyLong_AsDouble(arg);
                        if ffi::PyErr_Occurred().is_null() {
                            Some(value)
                        } else {
                            // Too large for a float: the general path raises its own error.
                            ffi::PyErr_Clear();
                            None
                        }
                    } else {
                        None
                    }
                }
            }
            _ => None,
        }
    }

    /// The arguments as borrowed `str` values, when all are exact `str`.
    ///
    /// # Safety
    /// As for `amount`; the returned strings borrow the arguments, which live for the
    /// whole call.
    unsafe fn label_values<'a>(&'a self, py: Python<'_>) -> Option<BorrowedValues<'a>> {
        let items = (0..self.nargs).map(|i| {
            // SAFETY: i < nargs valid, non-null argument pointers.
            unsafe { Borrowed::from_ptr(py, *self.args.add(i)) }
        });
        BorrowedValues::of(items)
    }
}

/// One fast path. `fast` returns None to hand the call to the PyO3 method.
trait FastMethod {
    type Native: PyTypeInfo + pyo3::PyClass;
    const NAME: &'static CStr;
    /// `name(signature)\n--\n\n` then the docstring.
    const DOC: &'static CStr;
    /// # Safety
    /// `args` are the call's valid positional arguments.
    unsafe fn fast(
        py: Python<'_>,
        native: &Bound<'_, Self::Native>,
        args: &Args,
    ) -> Option<PyResult<Py<PyAny>>>;
}

/// A `PyMethodDef` with a fixed address, as CPython requires.
struct MethodDef(std::cell::UnsafeCell<ffi::PyMethodDef>);
// SAFETY: CPython only reads a PyMethodDef after the descriptor is created, and nothing
// here writes one after it is built.
unsafe impl Sync for MethodDef {}

impl MethodDef {
    const fn new<M: FastMethod>() -> Self {
        MethodDef(std::cell::UnsafeCell::new(ffi::PyMethodDef {
            ml_name: M::NAME.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: fast_call::<M>,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: M::DOC.as_ptr(),
        }))
    }
}

/// One row of the table: is `cls` a class this fast path belongs on, and its method.
struct Entry {
    applies_to: fn(&Bound<'_, PyType>) -> PyResult<bool>,
    name: &'static CStr,
    def: &'static MethodDef,
}

/// A C string built at compile time from string literals.
macro_rules! c_string {
    ($($part:expr),+ $(,)?) => {
        match CStr::from_bytes_with_nul(concat!($($part),+, "\0").as_bytes()) {
            Ok(s) => s,
            Err(_) => panic!("a docstring contains a NUL byte"),
        }
    };
}

/// The argument shape of a fast path: how its `fast` body gets its input.
macro_rules! shape {
    (amount = $default:expr, $args:ident, $py:ident, |$value:ident| $body:expr) => {{
        // SAFETY: the caller passes the call's own arguments.
        let $value = unsafe { $args.amount($default) }?;
        Some($body)
    }};
    (labels, $args:ident, $py:ident, |$value:ident| $body:expr) => {{
        // SAFETY: the caller passes the call's own arguments.
        let values = unsafe { $args.label_values($py) }?;
        let $value = values.as_slice();
        $body
    }};
}

macro_rules! fast_paths {
    ($(
        $marker:ident: $native:ident . $method:ident ($($shape:tt)+)
            signature $signature:literal
            doc $doc:literal
            => |$py:ident, $this:ident, $value:ident| $body:expr;
    )+) => {
        $(
            struct $marker;
            impl FastMethod for $marker {
                type Native = $native;
                const NAME: &'static CStr = c_string!(stringify!($method));
                const DOC: &'static CStr =
                    c_string!(stringify!($method), $signature, "\n--\n\n", $doc);
                // SAFETY (for callers): see FastMethod::fast.
                unsafe fn fast(
                    $py: Python<'_>,
                    native: &Bound<'_, $native>,
                    args: &Args,
                ) -> Option<PyResult<Py<PyAny>>> {
                    let $this = native;
                    shape!($($shape)+, args, $py, |$value| $body)
                }
            }
        )+

        static TABLE: &[Entry] = &[
            $(Entry {
                applies_to: |cls| cls.is_subclass_of::<$native>(),
                name: <$marker as FastMethod>::NAME,
                def: {
                    static DEF: MethodDef = MethodDef::new::<$marker>();
                    &DEF
                },
            },)+
        ];
    };
}

/// `None` as the result of a method that returns nothing.
fn none(py: Python<'_>, done: PyResult<()>) -> PyResult<Py<PyAny>> {
    done.map(|()| py.None())
}

fast_paths! {
    CounterFamilyInc: CounterFamily.inc(amount = Some(1.0))
        signature "($self, /, amount=1.0, exemplar=None)"
        doc "Adds amount (default 1, never negative; +Inf saturates the counter) and keeps \
             exemplar, a dict of labels such as a trace id, as the series' exemplar."
        => |py, this, amount| none(py, this.get().inc(py, amount, None));
    CounterChildInc: CounterChild.inc(amount = Some(1.0))
        signature "($self, /, amount=1.0, exemplar=None)"
        doc "Adds amount (default 1, never negative; +Inf saturates the counter) and keeps \
             exemplar, a dict of labels such as a trace id, as the series' exemplar."
        => |py, this, amount| none(py, this.get().inc(py, amount, None));
    GaugeFamilyInc: GaugeFamily.inc(amount = Some(1.0))
        signature "($self, /, amount=1.0)"
        doc "Adds amount (default 1) to the gauge."
        => |py, this, amount| none(py, this.get().inc(amount));
    GaugeFamilyDec: GaugeFamily.dec(amount = Some(1.0))
        signature "($self, /, amount=1.0)"
        doc "Subtracts amount (default 1) from the gauge."
        => |py, this, amount| none(py, this.get().dec(amount));
    GaugeFamilySet: GaugeFamily.set(amount = None)
        signature "($self, /, value)"
        doc "Sets the gauge to value (any float, as in prometheus_client)."
        => |py, this, value| none(py, this.get().set(value));
    GaugeChildInc: GaugeChild.inc(amount = Some(1.0))
        signature "($self, /, amount=1.0)"
        doc "Adds amount (default 1) to the gauge."
        => |py, this, amount| none(py, this.get().inc(amount));
    GaugeChildDec: GaugeChild.dec(amount = Some(1.0))
        signature "($self, /, amount=1.0)"
        doc "Subtracts amount (default 1) from the gauge."
        => |py, this, amount| none(py, this.get().dec(amount));
    GaugeChildSet: GaugeChild.set(amount = None)
        signature "($self, /, value)"
        doc "Sets the gauge to value (any float, as in prometheus_client)."
        => |py, this, value| { this.get().set(value); Ok(py.None()) };
    HistogramFamilyObserve: HistogramFamily.observe(amount = None)
        signature "($self, /, amount, exemplar=None)"
        doc "Counts amount in its bucket and adds it to _sum; NaN, and an infinity \
             opposite to one _sum already holds, raise ValueError and record nothing. \
             exemplar is a dict of labels kept as the bucket's exemplar."
        => |py, this, amount| none(py, this.get().observe(py, amount, None));
    HistogramChildObserve: HistogramChild.observe(amount = None)
        signature "($self, /, amount, exemplar=None)"
        doc "Counts amount in its bucket and adds it to _sum; NaN, and an infinity \
             opposite to one _sum already holds, raise ValueError and record nothing. \
             exemplar is a dict of labels kept as the bucket's exemplar."
        => |py, this, amount| none(py, this.get().observe(py, amount, None));
    FamilyLabels: MetricFamily.labels(labels)
        signature "($self, /, *values, **labels)"
        doc "The child for these label values, given in label-name order or by name and \
             converted with str(); created on first use, and the same object on every \
             later call."
        => |py, this, values| {
            let family = this.get();
            if values.len() == family.label_count() {
                family.registered(py, values).map(Ok)
            } else {
                None
            }
        };
}

/// The `METH_FASTCALL | METH_KEYWORDS` function of one fast path.
///
/// # Safety
/// Only CPython calls it, through a descriptor that `install` bound to a subclass of
/// `M::Native`: `slf` is an instance of that class, `args` holds `nargs` positional and
/// then `len(kwnames)` keyword values, and a thread state is attached.
unsafe extern "C" fn fast_call<M: FastMethod>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls METH_FASTCALL functions with a thread state attached.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: masks the argument count CPython passed.
    let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf as usize) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the descriptor is bound to a subclass of M::Native (install_fast_paths),
        // and CPython checked that `slf` is an instance of it before this call.
        let native = unsafe { Bound::ref_from_ptr(py, &slf).cast_unchecked::<M::Native>() };
        let fast = if kwnames.is_null() {
            let positional = Args {
                args,
                nargs: nargs as usize,
            };
            // SAFETY: CPython's vectorcall arguments: nargs valid positional pointers.
            unsafe { M::fast(py, native, &positional) }
        } else {
            None
        };
        match fast {
            Some(result) => result,
            None => general_call::<M>(py, slf, args, nargs, kwnames),
        }
    }));
    let result = outcome.unwrap_or_else(|_| {
        Err(PyRuntimeError::new_err(format!(
            "vumeter internal error in {}",
            M::NAME.to_string_lossy()
        )))
    });
    match result {
        Ok(value) => value.into_ptr(),
        Err(error) => {
            error.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The PyO3 method of the native class, called with the original arguments.
fn general_call<M: FastMethod>(
    py: Python<'_>,
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> PyResult<Py<PyAny>> {
    let method = M::Native::type_object(py).getattr(M::NAME.to_str().unwrap_or_default())?;
    let kw = if kwnames.is_null() {
        0
    } else {
        // SAFETY: kwnames is a tuple when non-null.
        unsafe { ffi::PyTuple_GET_SIZE(kwnames) }
    };
    let mut all: Vec<*mut ffi::PyObject> = Vec::with_capacity((nargs + kw + 1) as usize);
    all.push(slf);
    // SAFETY: `args` holds nargs positional then kw keyword values.
    all.extend((0..nargs + kw).map(|i| unsafe { *args.offset(i) }));
    // SAFETY: valid callable and argument vector; returns a new reference or NULL.
    let result = unsafe {
        ffi::PyObject_Vectorcall(method.as_ptr(), all.as_ptr(), (nargs + 1) as usize, kwnames)
    };
    // SAFETY: a new reference or NULL with an exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, result) }.map(Bound::unbind)
}

fn install(cls: &Bound<'_, PyType>, entry: &Entry) -> PyResult<()> {
    // SAFETY: cls is a type object; the def is 'static and never written again.
    let descriptor = unsafe {
        ffi::PyDescr_NewMethod(cls.as_ptr().cast::<ffi::PyTypeObject>(), entry.def.0.get())
    };
    // SAFETY: a new reference or NULL with an exception set.
    let descriptor = unsafe { Bound::from_owned_ptr_or_err(cls.py(), descriptor) }?;
    cls.setattr(entry.name.to_str().unwrap_or_default(), descriptor)
}

/// Installs the fast paths that belong on one of vumeter's Python metric classes (a
/// subclass of one of the native families or children).
#[pyfunction]
#[pyo3(text_signature = "(cls, /)")]
pub fn install_fast_paths(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let mut installed = 0;
    for entry in TABLE {
        if (entry.applies_to)(cls)? {
            install(cls, entry)?;
            installed += 1;
        }
    }
    if installed == 0 {
        return Err(PyTypeError::new_err(format!(
            "install_fast_paths expects a subclass of a vumeter metric class, got {}",
            cls.name()?
        )));
    }
    Ok(())
}
