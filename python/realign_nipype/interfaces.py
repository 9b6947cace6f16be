"""nipype interfaces to the ``realign`` command line.

``Realign`` runs ``realign [OPTIONS] INPUT OUTPUT`` (estimate the head motion of a 4D
NIfTI series and reslice it); ``ApplyXfm`` runs ``realign apply --xfm XFM INPUT OUTPUT``
(reslice another series with the transforms a run saved). Both run the executable named
by ``command`` (default ``realign``, found on PATH); pass ``command="/path/to/realign"``
to use another build. Under MPI, set ``use_mpi=True`` (and ``n_procs``): the command
line is then prefixed with ``mpiexec -n N``.

Every file realign writes is declared as an output, named from OUTPUT's stem as the
command line names it (docs/outputs.md in the repository).
"""

import os

from nipype.interfaces.base import (
    File,
    InputMultiObject,
    MpiCommandLine,
    TraitedSpec,
    isdefined,
    traits,
)
from nipype.interfaces.base.specs import MpiCommandLineInputSpec

__all__ = ["Realign", "ApplyXfm"]

_IMAGE_EXTENSIONS = (".nii.gz", ".nii")


def split_image_path(path):
    """``(stem, extension)`` of a NIfTI path, as realign splits it.

    >>> split_image_path("/data/bold.nii.gz")
    ('/data/bold', '.nii.gz')
    >>> split_image_path("run.1.nii")
    ('run.1', '.nii')
    """
    for ext in _IMAGE_EXTENSIONS:
        if len(path) > len(ext) and path.endswith(ext):
            return path[: -len(ext)], ext
    raise ValueError("%s: a realign image must end in .nii or .nii.gz" % path)


def _on(value):
    """True when a Bool input is set and true."""
    return isdefined(value) and bool(value)


def _default_output(in_file, suffix):
    """``<in_file's name><suffix><in_file's extension>``, in the working directory."""
    stem, ext = split_image_path(os.path.basename(in_file))
    return stem + suffix + ext


# Inputs that ``realign`` and ``realign apply`` share.
class _ResliceInputSpec(MpiCommandLineInputSpec):
    reslice_degree = traits.Range(
        low=0, high=5, argstr="--reslice-degree %d",
        desc="B-spline degree for reslicing (realign's default: 4)")
    no_mask = traits.Bool(
        argstr="--no-mask", desc="keep voxels that some frames cannot see")
    datatype = traits.Enum(
        "float32", "input", argstr="--datatype %s",
        desc="output datatype: float32 (realign's default), or input (rounded, clamped)")
    threads = traits.Range(
        low=0, high=4096, argstr="--threads %d",
        desc="OpenMP threads per rank; 0 (realign's default) means detected")
    no_clobber = traits.Bool(
        argstr="--no-clobber", desc="refuse to replace outputs that exist")
    quiet = traits.Bool(
        argstr="--quiet", xor=["verbose"], desc="warnings and errors only")
    verbose = traits.Bool(argstr="--verbose", xor=["quiet"], desc="debug output")


class RealignInputSpec(_ResliceInputSpec):
    in_file = File(
        exists=True, mandatory=True, argstr="%s", position=-3,
        desc="4D NIfTI series (.nii or .nii.gz)")
    out_file = File(
        argstr="%s", position=-2, genfile=True, hash_files=False,
        desc="resliced output (.nii or .nii.gz); its stem names every other output. "
        "Default: <input's name>_realigned<input's extension> in the working directory")
    # Last, one option per file: "IN OUT --other-echoes E2 --other-echoes E3" is read the
    # same whether the option takes one file or every file that follows it.
    other_echoes = InputMultiObject(
        File(exists=True), argstr="--other-echoes %s...", position=-1,
        desc="the other echoes of a multi-echo run (in_file is echo 1), same grid and "
        "frame count, resliced with in_file's motion into OUT_echo-2, OUT_echo-3, ... "
        "in this order")

    ref = traits.Either(
        traits.Enum("mean", "first", "middle", "median"),
        traits.Range(low=1),
        File(exists=True),
        argstr="--ref %s",
        desc="reference: mean (realign's default), first, middle, median, a frame number "
        "(1-based) or a 3D NIfTI on the same grid")
    fwhm = traits.Range(
        low=0.0, high=50.0, argstr="--fwhm %s",
        desc="smoothing before estimation, FWHM in mm (default 5)")
    sep = traits.Range(
        low=0.1, high=100.0, argstr="--sep %s",
        desc="sample point spacing in mm (default 4)")
    quality = traits.Range(
        low=1e-6, high=1.0, argstr="--quality %s",
        desc="fraction of the information kept when thinning sample points (default 0.9)")
    est_degree = traits.Range(
        low=1, high=5, argstr="--est-degree %d",
        desc="B-spline degree for estimation (default 3)")
    intensity = traits.Enum(
        "coil", "global", "linear", argstr="--intensity %s",
        desc="intensity model of the fit (default coil)")
    robust = traits.Bool(
        argstr="--robust", desc="reweight sample points by their residuals (Tukey)")
    dummy_scans = traits.Range(
        low=0, high=100000, argstr="--dummy-scans %d",
        desc="non-steady-state frames at the start (default: detected)")
    max_iter = traits.Range(
        low=1, high=10000, argstr="--max-iter %d",
        desc="Gauss-Newton iterations at most, per frame and pass (default 64)")
    tol = traits.Range(
        low=1e-9, high=1.0, argstr="--tol %s",
        desc="a frame has converged when an iteration moves no point within 50 mm of the "
        "centre by more than this many mm (default 1e-4)")
    no_reslice = traits.Bool(
        argstr="--no-reslice",
        desc="estimate only: parameters and reports, no images (no out_file, mean_file, "
        "echo_files)")
    par = traits.Bool(
        argstr="--par", desc="also write the rp columns in MCFLIRT's order (par_file)")
    itk_xfm = traits.Bool(
        argstr="--itk-xfm",
        desc="also write the transforms in ITK's text format (itk_xfm_file)")
    fd_radius = traits.Range(
        low=1.0, high=1000.0, argstr="--fd-radius %s",
        desc="head radius in mm for framewise displacement (default 50)")
    fd_threshold = traits.Range(
        low=0.0, high=1000.0, argstr="--fd-threshold %s",
        desc="FD in mm above which a frame is flagged (default 0.5)")
    no_report = traits.Bool(
        argstr="--no-report", desc="do not write the HTML QC report (no report_file)")
    split = traits.Enum(
        "frames", "points", argstr="--split %s",
        desc="MPI work split (default frames)")


class RealignOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="resliced series, OUT.nii[.gz] (not with no_reslice)")
    mean_file = File(
        exists=True, desc="mean of the resliced frames, OUT_mean.nii[.gz] (not with no_reslice)")
    echo_files = traits.List(
        File(exists=True),
        desc="the other echoes resliced, OUT_echo-2.nii[.gz], ... (with other_echoes, "
        "not with no_reslice)")
    rp_file = File(
        exists=True, desc="SPM rp, OUT_rp.txt: tx ty tz (mm) pitch roll yaw (rad) per frame")
    confounds_file = File(
        exists=True, desc="fMRIPrep-style confounds, OUT_confounds.tsv")
    confounds_json = File(exists=True, desc="the confounds' BIDS sidecar, OUT_confounds.json")
    xfm_file = File(
        exists=True, desc="per-frame 4x4 world matrices, OUT_xfm.txt (input of ApplyXfm)")
    itk_xfm_file = File(
        exists=True, desc="the transforms in ITK's format, OUT_itk_xfm.txt (with itk_xfm)")
    par_file = File(exists=True, desc="MCFLIRT-order parameters, OUT.par (with par)")
    motion_plot = File(exists=True, desc="motion plot, OUT_motion.svg")
    report_file = File(exists=True, desc="QC report, OUT_report.html (not with no_report)")


class _RealignCommandLine(MpiCommandLine):
    """What Realign and ApplyXfm share: the executable, out_file's default and check, and
    a failed command reported by its exit status and stderr (nipype 1.8 would first
    report a missing output)."""

    _cmd = "realign"

    def _run_interface(self, runtime, correct_return_codes=(0,)):
        runtime = super()._run_interface(runtime, correct_return_codes)
        if runtime.returncode not in correct_return_codes:
            self.raise_exception(runtime)
        return runtime

    def _gen_filename(self, name):
        if name == "out_file":
            return _default_output(self.inputs.in_file, "_realigned")
        return None

    def _format_arg(self, name, spec, value):
        if name == "out_file":
            split_image_path(value)  # refuse a name realign would refuse
        return super()._format_arg(name, spec, value)

    def _output_stem(self):
        """(absolute out_file, its stem, its extension)."""
        image = self.inputs.out_file
        if not isdefined(image):
            image = self._gen_filename("out_file")
        image = os.path.abspath(image)
        return (image,) + split_image_path(image)


class Realign(_RealignCommandLine):
    """Rigid-body head-motion correction of a 4D fMRI series with ``realign``.

    Estimates every frame's motion against a reference, reslices the series (unless
    ``no_reslice``) and writes the parameters, confounds, transforms and reports beside
    the output. Options left undefined take realign's defaults.

    Examples
    --------
    >>> from realign_nipype import Realign
    >>> rl = Realign(in_file="bold.nii.gz", par=True, itk_xfm=True)
    >>> rl.cmdline
    'realign --itk-xfm --par bold.nii.gz bold_realigned.nii.gz'

    >>> rl = Realign(command="/opt/realign/bin/realign", in_file="bold.nii.gz",
    ...              out_file="mc.nii", ref="first", fwhm=4.0, no_reslice=True)
    >>> rl.cmdline
    '/opt/realign/bin/realign --fwhm 4.0 --no-reslice --ref first bold.nii.gz mc.nii'

    Other echoes of a multi-echo run come after INPUT OUTPUT, one option each:

    >>> rl = Realign(in_file="bold.nii.gz", other_echoes=["echo2.nii.gz", "echo3.nii.gz"])
    >>> rl.cmdline  # doctest: +NORMALIZE_WHITESPACE
    'realign bold.nii.gz bold_realigned.nii.gz --other-echoes echo2.nii.gz
    --other-echoes echo3.nii.gz'

    Under MPI:

    >>> rl = Realign(in_file="bold.nii.gz", use_mpi=True, n_procs=4)
    >>> rl.cmdline
    'mpiexec -n 4 realign bold.nii.gz bold_realigned.nii.gz'
    """

    input_spec = RealignInputSpec
    output_spec = RealignOutputSpec

    def _list_outputs(self):
        outputs = self.output_spec().get()
        image, stem, ext = self._output_stem()
        if not _on(self.inputs.no_reslice):
            outputs["out_file"] = image
            outputs["mean_file"] = stem + "_mean" + ext
            if isdefined(self.inputs.other_echoes):
                outputs["echo_files"] = [
                    "%s_echo-%d%s" % (stem, k + 2, ext)
                    for k in range(len(self.inputs.other_echoes))
                ]
        outputs["rp_file"] = stem + "_rp.txt"
        outputs["confounds_file"] = stem + "_confounds.tsv"
        outputs["confounds_json"] = stem + "_confounds.json"
        outputs["xfm_file"] = stem + "_xfm.txt"
        outputs["motion_plot"] = stem + "_motion.svg"
        if _on(self.inputs.itk_xfm):
            outputs["itk_xfm_file"] = stem + "_itk_xfm.txt"
        if _on(self.inputs.par):
            outputs["par_file"] = stem + ".par"
        if not _on(self.inputs.no_report):
            outputs["report_file"] = stem + "_report.html"
        return outputs


class ApplyXfmInputSpec(_ResliceInputSpec):
    in_file = File(
        exists=True, mandatory=True, argstr="%s", position=-2,
        desc="series to reslice (.nii or .nii.gz), on the run's grid with as many frames")
    xfm_file = File(
        exists=True, mandatory=True, argstr="--xfm %s",
        desc="the OUT_xfm.txt of an earlier run (Realign's xfm_file)")
    out_file = File(
        argstr="%s", position=-1, genfile=True, hash_files=False,
        desc="resliced output (.nii or .nii.gz). Default: <input's name>_realigned"
        "<input's extension> in the working directory")


class ApplyXfmOutputSpec(TraitedSpec):
    out_file = File(exists=True, desc="the resliced series")
    mean_file = File(exists=True, desc="mean of the resliced frames, OUT_mean.nii[.gz]")


class ApplyXfm(_RealignCommandLine):
    """Reslice a series with the transforms of an earlier run: ``realign apply``.

    For another echo of a run, or any series on the same grid with as many frames. The
    ``command`` is the realign executable; ``apply`` is added to it.

    Examples
    --------
    >>> from realign_nipype import ApplyXfm
    >>> ax = ApplyXfm(in_file="echo2.nii.gz", xfm_file="bold_realigned_xfm.txt")
    >>> ax.cmdline
    'realign apply --xfm bold_realigned_xfm.txt echo2.nii.gz echo2_realigned.nii.gz'
    """

    input_spec = ApplyXfmInputSpec
    output_spec = ApplyXfmOutputSpec

    @property
    def cmd(self):
        return super().cmd + " apply"

    def _list_outputs(self):
        outputs = self.output_spec().get()
        image, stem, ext = self._output_stem()
        outputs["out_file"] = image
        outputs["mean_file"] = stem + "_mean" + ext
        return outputs
