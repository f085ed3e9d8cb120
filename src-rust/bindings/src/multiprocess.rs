//! Multi-process mode: enabling it, placing families' cells in the cell file, and the
//! merged directory as a source of scrapes (`MultiProcessSource`).

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use vumeter_core::exposition::merged::shape_merged;
use vumeter_core::exposition::{
    RenderOptions, Rules, Sample, SampleKind, SampleSink, SeriesLabels,
};
use vumeter_core::multiprocess::format::NativeMeta;
use vumeter_core::multiprocess::{self, directory, FamilyIdentity, Merged, SeriesIdentity};
use vumeter_core::native_histogram::NativeConfig;
use vumeter_core::Descriptor;

use crate::errors::{map_enable_error, map_io_error};

/// The identity under which a new family's cells are placed, when multi-process mode
/// is on (families created before `enable` stay in process memory).
pub(crate) fn placement(
    descriptor: &Descriptor,
    bounds: &[f64],
    mode: &str,
    native: Option<&NativeConfig>,
) -> Option<Arc<FamilyIdentity>> {
    multiprocess::enabled().then(|| {
        FamilyIdentity::new(multiprocess::format::FamilyMeta {
            name: descriptor.name.clone(),
            help: descriptor.help.clone(),
            kind: descriptor.kind.as_str().to_owned(),
            labels: descriptor.label_names.clone(),
            bounds: bounds.iter().map(|b| b.to_bits()).collect(),
            mode: mode.to_owned(),
            native: native.map(|config| NativeMeta {
                schema: config.schema,
                zero_threshold: config.zero_threshold.to_bits(),
            }),
        })
    })
}

/// The series identity of one child of a placed family.
pub(crate) fn series_of(
    family: Option<&Arc<FamilyIdentity>>,
    values: &[String],
) -> Option<Arc<SeriesIdentity>> {
    family.map(|f| SeriesIdentity::new(Arc::clone(f), values))
}

/// Turns multi-process mode on with cell files in `directory`.
#[pyfunction]
pub fn multiprocess_enable(directory: PathBuf) -> PyResult<()> {
    multiprocess::enable(&directory).map_err(map_enable_error)
}

/// The directory multi-process mode writes to, or None when it is off.
#[pyfunction]
pub fn multiprocess_directory() -> Option<PathBuf> {
    multiprocess::backend::directory()
}

/// This process's cell file, once it has one.
#[pyfunction]
pub fn multiprocess_file() -> Option<PathBuf> {
    multiprocess::backend::file_path()
}

/// Placements the cell file could not take (their counts are missing from scrapes).
#[pyfunction]
pub fn multiprocess_write_failures() -> u64 {
    multiprocess::backend::failures()
}

/// Folds the files of processes that have ended into the aggregate now; returns the
/// number of files folded and the problems met, as (file, reason) pairs.
#[pyfunction]
pub fn multiprocess_fold(
    py: Python<'_>,
    directory: PathBuf,
) -> PyResult<(usize, Vec<(String, String)>)> {
    py.detach(|| {
        let mut problems = Vec::new();
        let folded = directory::fold_dead(&directory, &mut problems)?;
        Ok((folded, problem_pairs(problems)))
    })
    .map_err(map_io_error)
}

fn problem_pairs(problems: Vec<directory::Problem>) -> Vec<(String, String)> {
    problems
        .into_iter()
        .map(|p| (p.file.display().to_string(), p.reason))
        .collect()
}

/// Every process's series in a directory, merged at each scrape.
#[pyclass(frozen, subclass, module = "vumeter._native")]
pub struct MultiProcessSource {
    directory: PathBuf,
    problems: vumeter_core::sync::Mutex<Vec<(String, String)>>,
}

impl MultiProcessSource {
    /// Merges the directory now (call with the GIL released).
    pub(crate) fn merge(&self) -> std::io::Result<Merged> {
        let collected = directory::collect(&self.directory)?;
        let problems = problem_pairs(collected.problems);
        if !problems.is_empty() {
            self.problems.lock().extend(problems);
        }
        Ok(collected.merged)
    }
}

#[pymethods]
impl MultiProcessSource {
    #[new]
    fn new(directory: PathBuf) -> Self {
        MultiProcessSource {
            directory,
            problems: vumeter_core::sync::Mutex::new(Vec::new()),
        }
    }

    #[getter]
    fn directory(&self) -> PathBuf {
        self.directory.clone()
    }

    /// The files that could not be read since the last call, as (file, reason) pairs.
    fn _take_problems(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.problems.lock())
    }

    /// The merged families as (name, type, help, samples) tuples, each sample a
    /// (name, labels, value) tuple, for prometheus_client's `Metric` objects.
    fn _families<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let merged = py.detach(|| self.merge()).map_err(map_io_error)?;
        let mut collected = Collected::default();
        shape_merged(
            &merged,
            Rules::text(RenderOptions { created: false }),
            &mut collected,
        );
        let out = PyList::empty(py);
        for family in collected.families {
            let samples = PyList::empty(py);
            for (suffix, labels, value) in family.samples {
                let dict = PyDict::new(py);
                for (name, label) in labels {
                    dict.set_item(name, label)?;
                }
                samples.append((format!("{}{suffix}", family.name), dict, value))?;
            }
            out.append(PyTuple::new(
                py,
                [
                    family.name.into_pyobject(py)?.into_any(),
                    family.kind.into_pyobject(py)?.into_any(),
                    family.help.into_pyobject(py)?.into_any(),
                    samples.into_any(),
                ],
            )?)?;
        }
        Ok(out)
    }
}

/// A sample's suffix, labels (`le` included) and value.
type CollectedSample = (&'static str, Vec<(String, String)>, f64);

/// Merged samples copied out for Python.
#[derive(Default)]
struct Collected {
    families: Vec<CollectedFamily>,
    labels: Vec<(String, String)>,
}

struct CollectedFamily {
    name: String,
    kind: &'static str,
    help: String,
    label_names: Vec<String>,
    samples: Vec<CollectedSample>,
}

impl SampleSink for Collected {
    const EXEMPLARS: bool = false;

    fn family(&mut self, descriptor: &Descriptor, _children: usize) {
        self.families.push(CollectedFamily {
            name: descriptor.name.clone(),
            kind: descriptor.kind.as_str(),
            help: descriptor.help.clone(),
            label_names: descriptor.label_names.clone(),
            samples: Vec::new(),
        });
    }

    fn series(&mut self, values: &[String], _labels: &SeriesLabels) {
        let family = self.families.last().expect("a family began");
        self.labels = family
            .label_names
            .iter()
            .cloned()
            .zip(values.iter().cloned())
            .collect();
    }

    fn sample(&mut self, sample: Sample<'_>) {
        let mut labels = self.labels.clone();
        if let SampleKind::Bucket(le) = sample.kind {
            labels.push(("le".to_owned(), le.to_owned()));
        }
        let family = self.families.last_mut().expect("a family began");
        family
            .samples
            .push((sample.kind.suffix(), labels, sample.value.as_f64()));
    }

    fn end_family(&mut self) {}
}
