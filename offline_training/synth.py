"""Synthetic SEED-format data: a stand-in for SEED that the project can generate and test on.

Writes ``<out_dir>/Preprocessed_EEG/<subject>_<YYYYMMDD>.mat`` files laid out like the real
dataset (see ``offline_training.seed``), plus ``label.mat`` and a ``readme.txt``. Every file says
it is SYNTHETIC: none of it is SEED data.

Signal model per trial, all in microvolts at 200 Hz, shape (62 channels, T samples):

- 1/f (pink) background, spatially correlated between neighbouring electrodes, with a slow drift;
- occipital/parietal alpha with a subject-specific peak frequency;
- emotion-dependent band power (Zheng & Lu 2015): positive raises beta and gamma over lateral
  temporal sites, neutral raises parietal/occipital alpha, negative raises parietal/occipital
  delta and prefrontal gamma; the effect waxes and wanes within a trial;
- nuisances: per-trial random band-power changes, subject and session gains, per-channel gains
  that drift across a session, eye blinks on frontal channels and 50 Hz mains on all channels.

Everything is deterministic for a given ``seed``: numpy generators are seeded from
(seed, subject, session, trial).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.io
from scipy.special import expit

from models.eeg.bands import BANDS
from models.eeg.regions import TEMPORAL
from models.wording import count
from offline_training.seed import (
    MAT_HEADER_BYTES,
    SEED_CHANNELS,
    SEED_LABELS,
    SEED_SFREQ,
    SESSION_FILE_RE,
    TRIAL_SECONDS,
)

__all__ = [
    "SYNTH_TAG",
    "channel_positions",
    "generate_seed_folder",
    "generate_session",
    "generate_trial",
    "session_dates",
    "subject_prefix",
    "write_label_file",
    "write_session_file",
]

SYNTH_TAG = "sicleer-synth"
"""Marker written into every generated file's header."""

SEED_PREFIXES: tuple[str, ...] = (
    "djc", "jl", "jj", "lqj", "ly", "mhw", "phl", "sxy", "wk", "ww", "wsf", "wyw", "xyl", "ys",
    "zjy",
)  # fmt: skip
"""Real-style key prefixes, one per subject (subject 1 -> djc, ...)."""

N_CH = len(SEED_CHANNELS)

# Strength of the model's parts (dimensionless unless stated); tuned so that a per-session
# classifier on 1-s band-power windows lands around 70-95 % on trials 10-15.
_EMOTION_GAIN = 1.7  # extra band power of the emotion component, relative to the background
_TRIAL_JITTER = 0.25  # std of per-trial log band-power changes unrelated to emotion
_ENVELOPE_STD = 0.35  # std of the log envelope of the emotion effect within a trial
_GAIN_DRIFT = 0.08  # std of each channel's relative gain drift from trial 1 to trial 15


# ----------------------------------------------------------------------------- geometry


def channel_positions() -> np.ndarray:
    """Approximate flat scalp positions of the 62 SEED channels, shape (62, 2).

    Columns are (x: left -> right, y: back -> front) in units of one electrode spacing;
    FPZ is at (0, 4), CZ at (0, 0), OZ at (0, -4).
    """
    rows = {"FP": 4.0, "AF": 3.0, "F": 2.0, "FT": 1.0, "FC": 1.0, "T": 0.0, "C": 0.0,
            "TP": -1.0, "CP": -1.0, "P": -2.0, "PO": -3.0, "O": -4.0, "CB": -4.6}  # fmt: skip
    pattern = re.compile(r"^(FP|AF|FT|FC|TP|CP|PO|CB|F|T|C|P|O)(Z|\d+)$")
    xy = np.zeros((N_CH, 2))
    for i, name in enumerate(SEED_CHANNELS):
        match = pattern.match(name)
        assert match is not None, name
        row, col = match.groups()
        side = 0 if col == "Z" else (-1 if int(col) % 2 else 1)
        xy[i] = (0.0 if col == "Z" else side * ((int(col) + 1) // 2), rows[row])
    return xy


def _mixing_matrix(xy: np.ndarray, width: float = 0.7) -> np.ndarray:
    """Spatial smoothing matrix, shape (62, 62), rows of unit L2 norm (keeps each variance)."""
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * width**2))
    return kernel / np.linalg.norm(kernel, axis=1, keepdims=True)


def _region_weights(xy: np.ndarray) -> dict[str, np.ndarray]:
    """Smooth 0..1 weights of each channel, shape (62,), for the regions the model uses."""
    x, y = xy[:, 0], xy[:, 1]
    temporal = xy[[SEED_CHANNELS.index(c) for c in TEMPORAL]]
    d2_temporal = ((xy[:, None, :] - temporal[None]) ** 2).sum(-1).min(1)
    return {
        "temporal": np.exp(-d2_temporal / (2 * 0.8**2)),
        "parieto_occipital": expit(-(y + 1.6) / 0.4),
        "prefrontal": expit((y - 2.6) / 0.35),
        "occipital": expit(-(y + 2.2) / 0.6),
        "blink": np.exp(-np.clip(4.0 - y, 0, None) / 1.5) * np.exp(-(x**2) / (2 * 3.0**2)),
    }


_XY = channel_positions()
_MIX = _mixing_matrix(_XY)
_REGIONS = _region_weights(_XY)


# ----------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _SubjectParams:
    """Traits of one synthetic subject (shared by that subject's sessions)."""

    pink_level: float  # uV^2/Hz of the 1/f background at 0 Hz
    pink_exponent: float  # 1/f exponent
    alpha_freq: float  # Hz
    alpha_level: float  # uV^2/Hz at the alpha peak
    channel_level: np.ndarray  # (62,) relative background power per channel
    emotion_gain: np.ndarray  # (3,) strength of the negative/neutral/positive effects
    blink_interval: float  # mean seconds between blinks
    mains_level: float  # uV


@dataclass(frozen=True)
class _SessionParams:
    """Traits of one session (electrode gel, mood of the day, room wiring)."""

    gain: float  # overall amplitude factor
    channel_gain: np.ndarray  # (62,) electrode gain
    channel_drift: np.ndarray  # (62,) relative gain change from trial 1 to trial 15
    emotion_gain: np.ndarray  # (3,) per-session factor on the subject's effects
    alpha_shift: float  # Hz
    mains_channel: np.ndarray  # (62,) mains amplitude per channel, uV
    mains_phase: np.ndarray  # (62,) radians


def _rng(seed: int, subject: int, session: int = 0, trial: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, subject, session, trial])


def _subject_params(seed: int, subject: int) -> _SubjectParams:
    rng = _rng(seed, subject)
    return _SubjectParams(
        pink_level=float(rng.uniform(60.0, 160.0)),
        pink_exponent=float(rng.uniform(1.0, 1.5)),
        alpha_freq=float(rng.uniform(8.8, 11.5)),
        alpha_level=float(rng.uniform(20.0, 80.0)),
        channel_level=rng.lognormal(0.0, 0.15, N_CH),
        emotion_gain=rng.lognormal(0.0, 0.25, 3),
        blink_interval=float(rng.uniform(2.5, 6.0)),
        mains_level=float(rng.lognormal(np.log(3.0), 0.5)),
    )


def _session_params(seed: int, subject: int, session: int) -> _SessionParams:
    rng = _rng(seed, subject, session)
    return _SessionParams(
        gain=float(rng.lognormal(0.0, 0.15)),
        channel_gain=rng.lognormal(0.0, 0.1, N_CH),
        channel_drift=rng.normal(0.0, _GAIN_DRIFT, N_CH),
        emotion_gain=rng.lognormal(0.0, 0.2, 3),
        alpha_shift=float(rng.normal(0.0, 0.2)),
        mains_channel=rng.lognormal(0.0, 0.5, N_CH),
        mains_phase=rng.uniform(0.0, 2 * np.pi, N_CH),
    )


# ----------------------------------------------------------------------------- signal parts


def _band_mask(freqs: np.ndarray, band: str, edge: float = 0.5) -> np.ndarray:
    """Smooth 0..1 mask of a frequency band, same shape as ``freqs`` (Hz)."""
    lo, hi = BANDS[band]
    return expit((freqs - lo) / edge) * expit((hi - freqs) / edge)


def _noise_from_psd(
    rng: np.random.Generator, psd: np.ndarray, n_fft: int, n: int | None = None
) -> np.ndarray:
    """Gaussian noise with one-sided PSD ``psd`` (uV^2/Hz, shape (..., n_fft//2+1)).

    Returns shape (..., n) uV (the first ``n`` of ``n_fft`` samples; n defaults to n_fft).
    """
    spectrum = np.empty(psd.shape, np.complex64)
    spectrum.real = rng.standard_normal(psd.shape, np.float32)
    spectrum.imag = rng.standard_normal(psd.shape, np.float32)
    spectrum *= np.sqrt(psd * np.float32(SEED_SFREQ * n_fft / 4.0))  # E|W|^2 = 2
    spectrum[..., 0] = 0.0
    return scipy.fft.irfft(spectrum, n_fft)[..., : n_fft if n is None else n]


def _slow_envelope(
    rng: np.random.Generator, n_fft: int, n: int, log_std: float, cutoff: float
) -> np.ndarray:
    """Positive envelope exp(g(t)) / mean, shape (n,); g is Gaussian noise below ``cutoff`` Hz."""
    freqs = np.fft.rfftfreq(n_fft, 1 / SEED_SFREQ)
    psd = np.exp(-((freqs / cutoff) ** 2)) * log_std**2 / (np.sqrt(np.pi) / 2 * cutoff)
    g = _noise_from_psd(rng, psd, n_fft, n)  # std ~log_std; ~0 if n_fft << 1 / cutoff
    env = np.exp(g)
    return env / env.mean()


def _blinks(rng: np.random.Generator, n: int, mean_interval: float) -> np.ndarray:
    """Eye-blink waveform at FPZ (uV, shape (n,)): 100-300 uV transients every few seconds."""
    train = np.zeros(n)
    t = rng.uniform(0.0, mean_interval)
    while (i := int(t * SEED_SFREQ)) < n:
        train[i] = rng.uniform(100.0, 300.0)
        t += 0.6 + rng.exponential(mean_interval - 0.6)
    tk = np.arange(int(0.8 * SEED_SFREQ)) / SEED_SFREQ
    tau = rng.uniform(0.045, 0.07)  # s; the blink peaks at 2 * tau
    kernel = (tk / (2 * tau)) ** 2 * np.exp(2 - tk / tau)  # peak value 1
    return np.convolve(train, kernel)[:n]


def _mains(
    rng: np.random.Generator, n: int, subject: _SubjectParams, session: _SessionParams
) -> np.ndarray:
    """50 Hz interference, shape (62, n), uV; amplitude varies by channel and slowly in time."""
    t = np.arange(n) / SEED_SFREQ
    omega = 2 * np.pi * (50.0 + rng.normal(0.0, 0.01))
    env = 1 + 0.3 * np.sin(2 * np.pi * t / rng.uniform(20.0, 120.0) + rng.uniform(0, 2 * np.pi))
    amp = subject.mains_level * session.mains_channel
    sin_t, cos_t = np.sin(omega * t) * env, np.cos(omega * t) * env
    return np.outer(amp * np.cos(session.mains_phase), sin_t) + np.outer(
        amp * np.sin(session.mains_phase), cos_t
    )


def _psds(
    rng: np.random.Generator,
    freqs: np.ndarray,
    label: int,
    subject: _SubjectParams,
    session: _SessionParams,
) -> tuple[np.ndarray, np.ndarray]:
    """Background and emotion PSDs (uV^2/Hz), each float32 of shape (62, len(freqs))."""
    freqs = freqs.astype(np.float32)
    regions = {name: w.astype(np.float32)[:, None] for name, w in _REGIONS.items()}
    pink = subject.pink_level / (freqs + 1.0) ** subject.pink_exponent
    pink = pink + 150.0 * np.exp(-((freqs / 0.08) ** 2))  # slow drift
    pink = subject.channel_level.astype(np.float32)[:, None] * pink[None, :]
    alpha_f = subject.alpha_freq + session.alpha_shift
    alpha = np.exp(-((freqs - alpha_f) ** 2) / (2 * 1.0**2))
    alpha = subject.alpha_level * regions["occipital"] * alpha[None, :]
    masks = {band: _band_mask(freqs, band) for band in BANDS}
    # Per-trial band-power changes, spatially smooth, unrelated to emotion.
    field = (_MIX @ rng.standard_normal((N_CH, len(BANDS)))).astype(np.float32)
    log_jitter = _TRIAL_JITTER * field @ np.stack([masks[b] for b in BANDS])
    background = (pink + alpha) * np.exp(log_jitter)

    gain = _EMOTION_GAIN * float(subject.emotion_gain[label + 1] * session.emotion_gain[label + 1])
    w = regions
    if label == 1:  # positive: beta and gamma over lateral temporal sites
        emotion = w["temporal"] * pink * (masks["beta"] + masks["gamma"])
    elif label == 0:  # neutral: alpha over parietal/occipital sites
        emotion = w["parieto_occipital"] * (pink * masks["alpha"] + alpha)
    else:  # negative: parietal/occipital delta and prefrontal gamma
        emotion = (
            w["parieto_occipital"] * pink * masks["delta"] + w["prefrontal"] * pink * masks["gamma"]
        )
    return background, gain * emotion


# ----------------------------------------------------------------------------- public API


def subject_prefix(subject: int) -> str:
    """Key prefix of a subject: SEED-style initials (1 -> 'djc'), suffixed '2', '3'... past 15."""
    if subject < 1:
        raise ValueError(f"subject numbers start at 1, got {subject}")
    base = SEED_PREFIXES[(subject - 1) % len(SEED_PREFIXES)]
    cycle = (subject - 1) // len(SEED_PREFIXES)
    return base if cycle == 0 else f"{base}{cycle + 1}"


def session_dates(subject: int, n_sessions: int = 3, seed: int = 0) -> list[str]:
    """Distinct recording dates ``YYYYMMDD`` in increasing order, one per session."""
    rng = _rng(seed, subject, 0, 1)
    day = dt.date(2013, 4, 1) + dt.timedelta(days=int(rng.integers(0, 400)))
    dates = []
    for _ in range(n_sessions):
        dates.append(day.strftime("%Y%m%d"))
        day += dt.timedelta(days=int(rng.integers(3, 15)))
    return dates


def generate_trial(
    subject: int, session: int, trial: int, n_samples: int, seed: int = 0
) -> np.ndarray:
    """Generate one trial.

    Args:
        subject: subject number (>= 1).
        session: session number (>= 1).
        trial: trial number 1..15; its emotion is ``SEED_LABELS[trial - 1]``.
        n_samples: T, samples at 200 Hz (SEED uses 200 * seconds + 1).
        seed: global seed.

    Returns:
        float64 array of shape (62, n_samples), microvolts, SEED channel order.
    """
    if not 1 <= trial <= len(SEED_LABELS):
        raise ValueError(f"trial must be in 1..{len(SEED_LABELS)}, got {trial}")
    if n_samples < 2:
        raise ValueError(f"n_samples must be >= 2, got {n_samples}")
    subj = _subject_params(seed, subject)
    sess = _session_params(seed, subject, session)
    rng = _rng(seed, subject, session, trial)
    n_fft = scipy.fft.next_fast_len(n_samples, real=True)  # noise is cut to n_samples
    freqs = np.fft.rfftfreq(n_fft, 1 / SEED_SFREQ)
    background, emotion = _psds(rng, freqs, SEED_LABELS[trial - 1], subj, sess)
    x = _noise_from_psd(rng, background, n_fft, n_samples)
    envelope = _slow_envelope(rng, n_fft, n_samples, _ENVELOPE_STD, cutoff=0.05)
    x += _noise_from_psd(rng, emotion, n_fft, n_samples) * envelope.astype(np.float32)
    x = _MIX @ x.astype(np.float64)
    progress = (trial - 1) / (len(SEED_LABELS) - 1)
    gain = sess.gain * sess.channel_gain * (1 + sess.channel_drift * progress)
    x *= gain[:, None]
    x += np.outer(_REGIONS["blink"], _blinks(rng, n_samples, subj.blink_interval))
    x += _mains(rng, n_samples, subj, sess)
    return x


def _trial_lengths(trial_seconds: float | Sequence[float]) -> list[int]:
    """Samples per trial (200 * seconds + 1) for 15 trials from one number or 15 numbers."""
    n_trials = len(SEED_LABELS)
    if isinstance(trial_seconds, int | float):
        trial_seconds = [trial_seconds] * n_trials
    seconds = [float(s) for s in trial_seconds]
    if len(seconds) != n_trials:
        raise ValueError(f"trial_seconds needs 1 or {n_trials} values, got {len(seconds)}")
    if min(seconds) <= 0:
        raise ValueError(f"trial_seconds must be positive, got {seconds}")
    return [round(s * SEED_SFREQ) + 1 for s in seconds]


def generate_session(
    subject: int,
    session: int,
    trial_seconds: float | Sequence[float] = TRIAL_SECONDS,
    seed: int = 0,
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(key, trial)`` for the 15 trials of one session, one trial at a time.

    Keys are ``<prefix>_eeg<k>`` and come in MATLAB's alphabetical order (eeg1, eeg10, ...,
    eeg15, eeg2, ...), as a MATLAB ``save`` would write them. Each trial is float64,
    shape (62, 200 * trial_seconds[k - 1] + 1), microvolts.
    """
    prefix = subject_prefix(subject)
    lengths = _trial_lengths(trial_seconds)
    for trial in sorted(range(1, len(lengths) + 1), key=str):
        key = f"{prefix}_eeg{trial}"
        yield key, generate_trial(subject, session, trial, lengths[trial - 1], seed)


def _header_text(detail: str) -> bytes:
    text = f"MATLAB 5.0 MAT-file. SYNTHETIC SEED-format EEG by {SYNTH_TAG}, not SEED data. "
    text += detail
    return text.encode("ascii")[:MAT_HEADER_BYTES].ljust(MAT_HEADER_BYTES)


def _savemat_tagged(path: Path, items: Iterator[tuple[str, np.ndarray]], detail: str) -> Path:
    """Write variables one by one to a MATLAB v5 file whose header text says it is synthetic."""
    with path.open("wb") as stream:
        for key, value in items:  # savemat appends when the stream is not at position 0
            scipy.io.savemat(stream, {key: value}, format="5")
        stream.seek(0)
        stream.write(_header_text(detail))
    return path


def write_session_file(
    folder: str | Path,
    subject: int,
    session: int,
    date: str,
    trial_seconds: float | Sequence[float] = TRIAL_SECONDS,
    seed: int = 0,
) -> Path:
    """Write ``<folder>/<subject>_<date>.mat`` holding the 15 trials of one session."""
    path = Path(folder) / f"{subject}_{date}.mat"
    detail = f"seed={seed} subject={subject} session={session}"
    return _savemat_tagged(path, generate_session(subject, session, trial_seconds, seed), detail)


def write_label_file(folder: str | Path) -> Path:
    """Write ``<folder>/label.mat``: key ``label``, int array of shape (1, 15), values -1/0/1."""
    path = Path(folder) / "label.mat"
    labels = np.array([SEED_LABELS], dtype=np.int16)
    return _savemat_tagged(path, iter([("label", labels)]), "labels")


def _readme_text(subjects: Sequence[int], n_sessions: int, seed: int) -> str:
    return (
        "SYNTHETIC SEED-format EEG, generated by sicleer-synth (SI-CLEER BCI project).\n"
        "This is NOT the SEED dataset and contains no recorded brain activity.\n"
        f"Subjects {list(subjects)}, {count(n_sessions, 'session')} each, seed {seed}.\n"
        "Layout as SEED/Preprocessed_EEG: <subject>_<YYYYMMDD>.mat with keys <prefix>_eeg1..15,\n"
        "float64 arrays (62 channels, 200 Hz samples) in microvolts; label.mat key 'label'\n"
        "(1, 15) in {-1, 0, 1}. Emotion effects follow Zheng & Lu (2015) qualitatively.\n"
    )


def _is_synthetic(path: Path) -> bool:
    with path.open("rb") as stream:
        return SYNTH_TAG.encode() in stream.read(MAT_HEADER_BYTES)


def _clear_previous(folder: Path, overwrite: bool) -> None:
    """Refuse to write into a folder with session files, or remove earlier synthetic ones."""
    existing = [p for p in folder.iterdir()
                if SESSION_FILE_RE.match(p.name) or p.name == "label.mat"]
    if not existing:
        return
    if not overwrite:
        raise FileExistsError(
            f"{folder} already holds {len(existing)} .mat files; pass overwrite=True "
            "(sicleer-synth --force) to replace them"
        )
    foreign = [p.name for p in existing if not _is_synthetic(p)]
    if foreign:
        raise FileExistsError(
            f"{folder} holds files not written by {SYNTH_TAG} ({', '.join(sorted(foreign)[:5])}"
            "); refusing to overwrite what may be real SEED data"
        )
    for path in existing:
        path.unlink()


def generate_seed_folder(
    out_dir: str | Path,
    subjects: Sequence[int] = tuple(range(1, 16)),
    n_sessions: int = 3,
    trial_seconds: float | Sequence[float] = TRIAL_SECONDS,
    seed: int = 0,
    overwrite: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Write a synthetic SEED folder: ``<out_dir>/Preprocessed_EEG/`` with sessions and labels.

    Args:
        out_dir: the folder to play the part of ``SEED/``; created if missing.
        subjects: subject numbers (>= 1); each gets its own key prefix.
        n_sessions: sessions per subject, 1..3, on increasing dates.
        trial_seconds: one length for all 15 trials, or 15 lengths, in seconds.
        seed: global seed; the output is identical for identical arguments.
        overwrite: replace earlier synthetic files (never files from elsewhere).
        on_file: called with each path once it has been written (for progress bars).

    Returns:
        Paths written: session files (by subject, then session), then label.mat and readme.txt.

    Raises:
        ValueError: bad arguments.
        FileExistsError: the folder already holds .mat files and ``overwrite`` is False, or holds
            files that were not generated here.
    """
    subjects = [int(s) for s in subjects]
    if not subjects or min(subjects) < 1 or len(set(subjects)) != len(subjects):
        raise ValueError(f"subjects must be distinct numbers >= 1, got {subjects}")
    if not 1 <= n_sessions <= 3:
        raise ValueError(f"n_sessions must be 1..3, got {n_sessions}")
    _trial_lengths(trial_seconds)  # validate before writing anything
    folder = Path(out_dir) / "Preprocessed_EEG"
    folder.mkdir(parents=True, exist_ok=True)
    _clear_previous(folder, overwrite)
    notify = on_file or (lambda _path: None)
    written: list[Path] = []
    for subject in subjects:
        for session, date in enumerate(session_dates(subject, n_sessions, seed), start=1):
            written.append(write_session_file(folder, subject, session, date, trial_seconds, seed))
            notify(written[-1])
    written.append(write_label_file(folder))
    notify(written[-1])
    readme = folder / "readme.txt"
    readme.write_text(_readme_text(subjects, n_sessions, seed))
    written.append(readme)
    notify(readme)
    return written
