//! Vectorcall fast paths for the per-observation methods (`inc`, `dec`, `set`, `observe`).
//!
//! PyO3's generated wrappers parse every call generically (keyword names, defaults, a
//! subtype check of `self`), which is most of what `counter.inc()` costs. For the common
//! shapes, `m.inc()`, `m.inc(x)`, `m.set(x)`, `m.observe(x)` with `x` an exact float or int, these
//! hand-written `METH_FASTCALL` functions do the same work directly. Every other shape
//! (keywords, exemplars, other number types, wrong arity) is passed unchanged to the PyO3
//! method, so behaviour and error messages are identical either way.
//!
//! The methods are installed on vumeter's Python classes (`Counter`, `CounterChild`, ...),
//! with each descriptor bound to that exact class: CPython checks `self` against it before
//! calling, which makes the unchecked casts below sound.

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

/// One method with a fast path: its name, the native class it overrides, and what it does
/// with an amount (`None`: the method's default).
trait FastMethod {
    const NAME: &'static CStr;
    type Native: PyTypeInfo + pyo3::PyClass;
    /// The amount when called without arguments, or None if an argument is required.
    const DEFAULT: Option<f64>;
    fn call(py: Python<'_>, native: &Bound<'_, Self::Native>, amount: f64) -> PyResult<()>;
}

macro_rules! fast_method {
    ($marker:ident, $native:ty, $name:literal, $default:expr, $method:ident) => {
        struct $marker;
        impl FastMethod for $marker {
            const NAME: &'static CStr = $name;
            type Native = $native;
            const DEFAULT: Option<f64> = $default;
            fn call(py: Python<'_>, native: &Bound<'_, $native>, amount: f64) -> PyResult<()> {
                native.get().$method(py, amount, None)
            }
        }
    };
}

/// A gauge method: `$call` maps (native, amount) to the method call.
macro_rules! gauge_method {
    ($marker:ident, $native:ty, $name:literal, $default:expr, |$g:ident, $amount:ident| $call:expr) => {
        struct $marker;
        impl FastMethod for $marker {
            const NAME: &'static CStr = $name;
            type Native = $native;
            const DEFAULT: Option<f64> = $default;
            fn call(_py: Python<'_>, native: &Bound<'_, $native>, $amount: f64) -> PyResult<()> {
                let $g = native.get();
                $call
            }
        }
    };
}

fast_method!(CounterFamilyInc, CounterFamily, c"inc", Some(1.0), inc);
fast_method!(CounterChildInc, CounterChild, c"inc", Some(1.0), inc);
fast_method!(
    HistogramFamilyObserve,
    HistogramFamily,
    c"observe",
    None,
    observe
);
fast_method!(
    HistogramChildObserve,
    HistogramChild,
    c"observe",
    None,
    observe
);
gauge_method!(
    GaugeFamilyInc,
    GaugeFamily,
    c"inc",
    Some(1.0),
    |g, amount| g.inc(amount)
);
gauge_method!(
    GaugeFamilyDec,
    GaugeFamily,
    c"dec",
    Some(1.0),
    |g, amount| g.dec(amount)
);
gauge_method!(GaugeFamilySet, GaugeFamily, c"set", None, |g, amount| g
    .set(amount));
gauge_method!(GaugeChildInc, GaugeChild, c"inc", Some(1.0), |g, amount| {
    g.inc(amount);
    Ok(())
});
gauge_method!(GaugeChildDec, GaugeChild, c"dec", Some(1.0), |g, amount| {
    g.dec(amount);
    Ok(())
});
gauge_method!(GaugeChildSet, GaugeChild, c"set", None, |g, amount| {
    g.set(amount);
    Ok(())
});

/// The amount of a fast-path call, or None when the call needs the general path.
///
/// # Safety
/// `args` holds `nargs` valid object pointers, as CPython passes them.
unsafe fn fast_amount(
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    default: Option<f64>,
) -> Option<f64> {
    if !kwnames.is_null() {
        return None;
    }
    match nargs {
        0 => default,
        1 => {
            let arg = *args;
            if ffi::PyFloat_CheckExact(arg) != 0 {
                Some(ffi::PyFloat_AS_DOUBLE(arg))
            } else if ffi::PyLong_CheckExact(arg) != 0 {
                let value = ffi::PyLong_AsDouble(arg);
                if !ffi::PyErr_Occurred().is_null() {
                    // Too large for a float: let the general path raise its own error.
                    ffi::PyErr_Clear();
                    return None;
                }
                Some(value)
            } else {
                None
            }
        }
        _ => None,
    }
}

unsafe extern "C" fn fast_call<M: FastMethod>(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargsf: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: CPython calls METH_FASTCALL functions with a thread state attached.
    let py = unsafe { Python::assume_attached() };
    let nargs = unsafe { ffi::PyVectorcall_NARGS(nargsf as usize) };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the descriptor is bound to a subclass of M::Native (install_fast_paths),
        // and CPython checked that `slf` is an instance of it before this call.
        let native = unsafe { Bound::ref_from_ptr(py, &slf).cast_unchecked::<M::Native>() };
        // SAFETY: CPython's vectorcall arguments.
        match unsafe { fast_amount(args, nargs, kwnames, M::DEFAULT) } {
            Some(amount) => M::call(py, native, amount).map(|()| py.None()),
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

struct MethodDef(std::cell::UnsafeCell<ffi::PyMethodDef>);
// SAFETY: CPython only reads a PyMethodDef after the descriptor is created.
unsafe impl Sync for MethodDef {}

impl MethodDef {
    const fn new<M: FastMethod>() -> Self {
        MethodDef(std::cell::UnsafeCell::new(ffi::PyMethodDef {
            ml_name: M::NAME.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: fast_call::<M>,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: std::ptr::null(),
        }))
    }
}

static COUNTER_FAMILY_INC: MethodDef = MethodDef::new::<CounterFamilyInc>();
static COUNTER_CHILD_INC: MethodDef = MethodDef::new::<CounterChildInc>();
static HISTOGRAM_FAMILY_OBSERVE: MethodDef = MethodDef::new::<HistogramFamilyObserve>();
static HISTOGRAM_CHILD_OBSERVE: MethodDef = MethodDef::new::<HistogramChildObserve>();
static GAUGE_FAMILY_INC: MethodDef = MethodDef::new::<GaugeFamilyInc>();
static GAUGE_FAMILY_DEC: MethodDef = MethodDef::new::<GaugeFamilyDec>();
static GAUGE_FAMILY_SET: MethodDef = MethodDef::new::<GaugeFamilySet>();
static GAUGE_CHILD_INC: MethodDef = MethodDef::new::<GaugeChildInc>();
static GAUGE_CHILD_DEC: MethodDef = MethodDef::new::<GaugeChildDec>();
static GAUGE_CHILD_SET: MethodDef = MethodDef::new::<GaugeChildSet>();

fn install(cls: &Bound<'_, PyType>, def: &'static MethodDef, name: &CStr) -> PyResult<()> {
    // SAFETY: cls is a type object; def is 'static and never written again.
    let descriptor =
        unsafe { ffi::PyDescr_NewMethod(cls.as_ptr().cast::<ffi::PyTypeObject>(), def.0.get()) };
    // SAFETY: a new reference or NULL with an exception set.
    let descriptor = unsafe { Bound::from_owned_ptr_or_err(cls.py(), descriptor) }?;
    cls.setattr(name.to_str().unwrap_or_default(), descriptor)
}

/// Installs the fast `inc`/`dec`/`set`/`observe` on one of vumeter's Python metric
/// classes.
#[pyfunction]
pub fn install_fast_paths(cls: &Bound<'_, PyType>) -> PyResult<()> {
    let methods: &[(&'static MethodDef, &CStr)] = if cls.is_subclass_of::<CounterFamily>()? {
        &[(&COUNTER_FAMILY_INC, c"inc")]
    } else if cls.is_subclass_of::<CounterChild>()? {
        &[(&COUNTER_CHILD_INC, c"inc")]
    } else if cls.is_subclass_of::<HistogramFamily>()? {
        &[(&HISTOGRAM_FAMILY_OBSERVE, c"observe")]
    } else if cls.is_subclass_of::<HistogramChild>()? {
        &[(&HISTOGRAM_CHILD_OBSERVE, c"observe")]
    } else if cls.is_subclass_of::<GaugeFamily>()? {
        &[
            (&GAUGE_FAMILY_INC, c"inc"),
            (&GAUGE_FAMILY_DEC, c"dec"),
            (&GAUGE_FAMILY_SET, c"set"),
        ]
    } else if cls.is_subclass_of::<GaugeChild>()? {
        &[
            (&GAUGE_CHILD_INC, c"inc"),
            (&GAUGE_CHILD_DEC, c"dec"),
            (&GAUGE_CHILD_SET, c"set"),
        ]
    } else {
        return Err(PyTypeError::new_err(format!(
            "install_fast_paths expects a subclass of a vumeter metric class, got {}",
            cls.name()?
        )));
    };
    for &(def, name) in methods {
        install(cls, def, name)?;
    }
    Ok(())
}
