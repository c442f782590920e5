"""Ambient sound beds, synthesised (no downloaded assets) and looped behind each scene.

A scene names its bed (``ambient_sound: {name: murmur, volume: 0.3}``). Each bed is a few seconds
of numpy-generated sound, shaped to read as what it names, with its end cross-faded into its
start so that it loops without a click; it is written once as a 16-bit mono WAV in a cache folder.

| bed | made of |
|---|---|
| room_tone | soft low-passed noise (air conditioning, a quiet room) |
| murmur | voice-band noise with syllable-rate swells (people talking at a distance) |
| hall | low rumble plus a faint murmur (a large room with an audience) |
| lift_hum | a 100 Hz mains hum with its harmonics over faint noise |
| birds | a quiet garden bed with seeded chirps (sweeps between 2 and 5 kHz) |
| wind | slowly gusting low-passed noise |
| water | band-passed noise with bubbling modulation |
| train | low rumble with the rhythm of wheels over rail joints |
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

RATE_HZ = 22050
LENGTH_S = 8.0
FADE_S = 0.5
BEDS = ("room_tone", "murmur", "hall", "lift_hum", "birds", "wind", "water", "train")


def _lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    """One-pole low-pass, run forwards and backwards (no phase shift), by FFT for speed."""
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE_HZ)
    return np.fft.irfft(spectrum / (1.0 + (freqs / cutoff_hz) ** 2), len(x))


def _band(x: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE_HZ)
    shape = np.exp(-0.5 * (np.log(np.maximum(freqs, 1.0) / np.sqrt(low_hz * high_hz)) / np.log(high_hz / low_hz)
                           * 2.5) ** 2)
    return np.fft.irfft(spectrum * shape, len(x))


def _envelope(rng: np.random.Generator, n: int, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random swell at about ``rate_hz`` with modulation ``depth`` (0-1)."""
    slow = _lowpass(rng.normal(size=n), rate_hz)
    slow /= np.abs(slow).max() + 1e-12
    return 1.0 - depth + depth * (0.5 + 0.5 * slow)


def _normalise(x: np.ndarray, rms: float) -> np.ndarray:
    return x * (rms / (np.sqrt(np.mean(x * x)) + 1e-12))


def synthesize(name: str, seconds: float = LENGTH_S, seed: int = 0) -> np.ndarray:
    """The bed ``name`` as float samples in -1..1 at ``RATE_HZ``, seamless when looped."""
    if name not in BEDS:
        raise ValueError(f"unknown ambient sound {name!r}; use one of {', '.join(BEDS)}")
    rng = np.random.default_rng([seed, BEDS.index(name)])
    fade = int(FADE_S * RATE_HZ)
    n = int(seconds * RATE_HZ) + fade
    t = np.arange(n) / RATE_HZ
    noise = rng.normal(size=n)
    if name == "room_tone":
        x = _normalise(_lowpass(noise, 250.0), 0.05)
    elif name == "murmur":
        x = _normalise(_band(noise, 250.0, 2500.0) * _envelope(rng, n, 4.0, 0.7), 0.08)
    elif name == "hall":
        x = _normalise(_lowpass(noise, 120.0), 0.05) + _normalise(_band(rng.normal(size=n), 300.0, 2000.0)
                                                                   * _envelope(rng, n, 3.0, 0.6), 0.025)
    elif name == "lift_hum":
        hum = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((100.0, 200.0, 300.0), start=1))
        x = _normalise(hum, 0.06) + _normalise(_lowpass(noise, 400.0), 0.015)
    elif name == "birds":
        x = _normalise(_lowpass(noise, 600.0), 0.01)
        for start in rng.uniform(0.0, seconds - 0.4, int(seconds * 1.5)):
            k0, length = int(start * RATE_HZ), int(rng.uniform(0.06, 0.18) * RATE_HZ)
            f0, f1 = rng.uniform(2000.0, 5000.0, 2)
            f = np.linspace(f0, f1, length)
            chirp = np.sin(2 * np.pi * np.cumsum(f) / RATE_HZ) * np.hanning(length)
            x[k0:k0 + length] += 0.12 * chirp
    elif name == "wind":
        x = _normalise(_lowpass(noise, 500.0) * _envelope(rng, n, 0.3, 0.8), 0.07)
    elif name == "water":
        x = _normalise(_band(noise, 400.0, 3000.0) * _envelope(rng, n, 12.0, 0.5), 0.06)
    else:  # train
        clack = np.zeros(n)
        for k in np.arange(0.0, seconds + FADE_S, 0.62):
            i = int(k * RATE_HZ)
            clack[i:i + 600] += np.exp(-np.arange(len(clack[i:i + 600])) / 120.0)
        x = _normalise(_lowpass(noise, 150.0), 0.08) + 0.15 * _lowpass(clack * rng.normal(size=n), 900.0)
    # Loop without a click: the extra tail fades into the start.
    body, tail = x[: n - fade].copy(), x[n - fade:]
    ramp = np.linspace(0.0, 1.0, fade)
    body[:fade] = body[:fade] * ramp + tail * (1.0 - ramp)
    return np.clip(body, -1.0, 1.0)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vr-toolkit" / "ambience"


def ambience_file(name: str, folder: Path | None = None) -> Path:
    """A WAV file of the bed ``name``, written once and reused."""
    folder = folder or cache_dir()
    path = folder / f"{name}-{RATE_HZ}.wav"
    if not path.exists():
        write_wav(path, synthesize(name), RATE_HZ)
    return path


def write_wav(path: Path, samples: np.ndarray, rate_hz: int) -> None:
    """Mono 16-bit WAV of ``samples`` (-1..1), written atomically (a crash never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate_hz)
        w.writeframes((np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
    os.replace(tmp, path)


class AmbiencePlayer:
    """Loops the current scene's bed through Panda3D's audio (silent where audio is off)."""

    def __init__(self, loader, folder: Path | None = None) -> None:
        self.loader = loader
        self.folder = folder
        self.sound = None
        self.current: str | None = None

    def play(self, name: str | None, volume: float) -> None:
        if name == self.current:
            return
        if self.sound is not None:
            self.sound.stop()
            self.sound = None
        self.current = name
        if name is None:
            return
        sound = self.loader.loadSfx(str(ambience_file(name, self.folder)))
        if sound is None:
            return
        sound.setLoop(True)
        sound.setVolume(volume)
        sound.play()
        self.sound = sound

    def stop(self) -> None:
        self.play(None, 0.0)
