//! Bulk observation input: 1-D float64/float32 numpy arrays of any stride and alignment,
//! or anything `numpy.asarray(..., dtype=float64)` accepts. Bucketing runs with the GIL
//! released, and arrays are read where they are: a contiguous array as a slice, any
//! other view (a channel of an interleaved buffer, a reversed or unaligned view)
//! through its stride one block at a time, so no input is ever copied whole.
//! Masked arrays are refused: their mask cannot be honoured by reading the data.

use std::marker::PhantomData;
use std::ops::Range;

use numpy::{
    Element, PyArray1, PyArrayMethods, PyReadonlyArray1, PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use vumeter_core::buckets::BulkValues;
use vumeter_core::HistogramCore;

use crate::errors::map_metric_error;

pub(crate) fn observe_many(core: &HistogramCore, values: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(array) = values.cast::<PyUntypedArray>() {
        // Only a subclass of ndarray can be masked; a plain ndarray skips the check.
        if !array.is_exact_instance_of::<PyUntypedArray>() {
            refuse_masked(values)?;
        }
    }
    if let Ok(array) = values.cast::<PyArray1<f64>>() {
        return observe_array(core, &array.readonly());
    }
    if let Ok(array) = values.cast::<PyArray1<f32>>() {
        return observe_array(core, &array.readonly());
    }
    if let Ok(array) = values.cast::<PyUntypedArray>() {
        return Err(wrong_array(array));
    }
    let converted = as_float64_array(values)?;
    if converted.cast::<PyArray1<f64>>().is_err() {
        return Err(wrong_array(converted.cast::<PyUntypedArray>()?));
    }
    observe_many(core, &converted)
}

/// Buckets a float array in place with the GIL released.
fn observe_array<T>(core: &HistogramCore, view: &PyReadonlyArray1<'_, T>) -> PyResult<()>
where
    T: Float + Sync,
    [T]: BulkValues,
{
    let py = view.py();
    let result = if let Ok(slice) = view.as_slice() {
        py.detach(|| core.observe_many(slice))
    } else {
        let strided = Strided::of(view);
        py.detach(|| core.observe_many(&strided))
    };
    result.map_err(map_metric_error)
}

/// A 1-D array read through its byte stride: any stride (negative, zero, not a multiple
/// of the item size) and any alignment, one element at a time.
struct Strided<T> {
    data: *const u8,
    stride: isize,
    len: usize,
    _element: PhantomData<T>,
}

// SAFETY: the pointer is only read, and the readonly borrow that `Strided::of` takes
// it from outlives every use (the caller keeps the borrow across the detached call).
unsafe impl<T: Sync> Send for Strided<T> {}
// SAFETY: as for Send: shared reads only.
unsafe impl<T: Sync> Sync for Strided<T> {}

impl<T: Element> Strided<T> {
    fn of(view: &PyReadonlyArray1<'_, T>) -> Self {
        let array = view.as_untyped();
        Strided {
            data: view.data().cast::<u8>().cast_const(),
            stride: array.strides()[0],
            len: array.len(),
            _element: PhantomData,
        }
    }

    /// Element `index`, read unaligned.
    #[inline(always)]
    // index < len, and numpy array lengths fit in isize.
    #[allow(clippy::cast_possible_wrap)]
    fn read(&self, index: usize) -> T {
        // SAFETY: index < len, and numpy guarantees that `data + index * stride` is the
        // address of a valid element of this array for every index < len; the
        // readonly borrow keeps the buffer alive. `read_unaligned` makes no
        // assumption about alignment. Like every numpy kernel that runs without the
        // GIL, this relies on no other thread writing the array during the call.
        unsafe {
            self.data
                .offset(index as isize * self.stride)
                .cast::<T>()
                .read_unaligned()
        }
    }
}

/// The float element types `observe_many` reads, widened to f64 (exactly).
trait Float: Element + Copy {
    fn widen(self) -> f64;
}

impl Float for f64 {
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
}

impl Float for f32 {
    #[inline(always)]
    fn widen(self) -> f64 {
        f64::from(self)
    }
}

impl<T: Float> BulkValues for Strided<T> {
    fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn block<'a>(&'a self, range: Range<usize>, buffer: &'a mut [f64]) -> &'a [f64] {
        for (out, index) in buffer.iter_mut().zip(range) {
            *out = self.read(index).widen();
        }
        buffer
    }
}

/// `numpy.ma.MaskedArray` is an ndarray subclass whose data still holds the masked
/// values: reading it would record them. Looked up in `sys.modules` each time (only for
/// ndarray subclasses): if `numpy.ma` was never imported, no masked array exists, and
/// nothing is imported or cached here.
fn refuse_masked(values: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = values.py();
    let modules = py.import("sys")?.getattr("modules")?;
    let Some(ma) = modules.cast::<PyDict>()?.get_item("numpy.ma")? else {
        return Ok(());
    };
    let masked = ma.getattr("MaskedArray")?;
    if values.is_instance(&masked)? {
        return Err(PyTypeError::new_err(
            "observe_many does not take a numpy.ma.MaskedArray: its mask would be ignored \
             and the masked values recorded; pass values.compressed() to observe only the \
             unmasked values",
        ));
    }
    Ok(())
}

fn wrong_array(array: &Bound<'_, PyUntypedArray>) -> PyErr {
    if array.ndim() != 1 {
        let dims: Vec<String> = array.shape().iter().map(ToString::to_string).collect();
        let shape = match dims.as_slice() {
            [one] => format!("({one},)"),
            _ => format!("({})", dims.join(", ")),
        };
        return PyValueError::new_err(format!(
            "observe_many expected a 1-D array, got shape {shape}"
        ));
    }
    let dtype = array
        .dtype()
        .str()
        .map_or_else(|_| "unknown".to_string(), |s| s.to_string());
    PyTypeError::new_err(format!(
        "observe_many expected a float64 or float32 array, got dtype {dtype}; \
         convert it with values.astype(numpy.float64)"
    ))
}

fn as_float64_array<'py>(values: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // Looked up on each call (this path converts Python objects, so it is slow anyway)
    // rather than cached on first use: no first-use set-up can then be in flight in
    // one thread while another forks.
    let numpy = values.py().import("numpy")?;
    let float64 = numpy.getattr("float64")?;
    numpy
        .getattr("asarray")?
        .call1((values, float64))
        .map_err(|error| {
            PyTypeError::new_err(format!(
                "observe_many expected a 1-D float64 or float32 numpy array or a sequence of \
                 numbers; converting {} failed: {error}",
                values
                    .get_type()
                    .name()
                    .map_or_else(|_| "it".to_string(), |n| n.to_string())
            ))
        })
}
