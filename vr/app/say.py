"""``vr say``: what would a virtual human answer? One JSON object, no headset, no window.

    vr say --profile exposure_profiles/job_interview.yaml --step 3 "sorry, I'm a bit nervous"

``--step`` counts from 0, as the summary, the record (``step_index``) and the console's API do.

prints ``speaker`` (the role), ``line_id``, ``text``, ``band``, ``similarity`` (cosine to the
closest example answer; null for a generic acknowledgement), ``method``, ``risk`` (the
kind the session core's risk screen would alert on, by phrase or by meaning, or null) and
``screen`` (the meaning check's numbers: nearest risk exemplar, its similarity, the nearest near
miss's; null without the sentence model). With a risk, the session would alert the clinician and
quiet the humans, so no line is chosen.
"""

from __future__ import annotations

import argparse
import json
import sys

from vr.app.cli_common import CommandError, resolve_profile
from vr.config.text import printable


def cmd_say(args: argparse.Namespace) -> int:
    from vr.config import ConfigError, load_profile
    from vr.dialogue.bank import bank_for_scene
    from vr.dialogue.choose import Chooser, band_of
    from vr.dialogue.embed import default_cache_dir, load_embedder
    from vr.sim.params import resolve
    from vr.dialogue.screen import RiskScreen
    from vr.sim.risk import detect, semantic_alert

    try:
        loaded = load_profile(resolve_profile(args.profile))
    except ConfigError as e:
        raise CommandError(str(e), 1) from None
    profile = loaded.config
    steps = profile.steps
    if not 0 <= args.step < len(steps):
        raise CommandError(f"vr say: --step {args.step} is outside 0-{len(steps) - 1} "
                           f"({printable(profile.name)} has {len(steps)} steps, counted from 0)")
    step = steps[args.step]
    intensity = resolve(step, profile.safety).dialogue_intensity if args.intensity is None else args.intensity
    band = band_of(intensity)
    bank = bank_for_scene(profile.scene)
    if bank is None:
        raise CommandError(f"vr say: the scene {profile.scene!r} has no line bank (dialogue/{profile.scene}.yaml)", 1)
    words = " ".join(args.words)
    risk = detect(words)
    out: dict = {"speaker": bank.role_for(args.role), "band": band, "dialogue_intensity": round(intensity, 3),
                 "risk": risk.category if risk else None}
    if risk is not None:
        out.update(line_id=None, text=None, similarity=None, method="risk_alert",
                   note=f"the session would alert the clinician ({risk.category}: {risk.phrase!r}) and quiet the humans")
    else:
        embedder, warning = load_embedder("lexical" if args.lexical else "auto")
        if warning:
            print(f"vr say: {warning}", file=sys.stderr)
        cache = default_cache_dir() / "embeddings"
        screen = RiskScreen(embedder, cache_dir=cache)
        score = screen.score(words)
        out["screen"] = ({"kind": score.kind, "similarity": score.similarity, "safe_similarity": score.safe_similarity,
                          "exemplar": score.exemplar, "segment": score.segment, "alert": False}
                         if screen.available else None)
        if screen.available and semantic_alert(score.similarity, score.safe_similarity):
            out["screen"]["alert"] = True
            out.update(risk=score.kind, line_id=None, text=None, similarity=None, method="risk_alert",
                       note=f"the session would alert the clinician ({score.kind}: it reads like "
                            f"{score.exemplar!r}, similarity {score.similarity:.2f}) and quiet the humans")
        else:
            chooser = Chooser(bank, embedder, seed=args.seed, cache_dir=cache)
            choice = chooser.reply(words, band=band, role=args.role)
            out.update(speaker=choice.role, line_id=choice.line_id, text=choice.text, band=choice.band,
                       similarity=choice.similarity, method=choice.method)
    print(json.dumps(out, ensure_ascii=False))
    return 0


def add_say_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("say", help="the line a virtual human would answer with, as JSON (try the dialogue offline)")
    p.add_argument("--profile", required=True, help="a profile file or name")
    p.add_argument("--step", type=int, default=0,
                   help="the step whose dialogue intensity applies, counted from 0 as in the summary and the record")
    p.add_argument("--intensity", type=float, default=None, help="a dialogue intensity 0-1 instead of the step's")
    p.add_argument("--role", default=None, help="the speaking role (default: the scene's usual one)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--lexical", action="store_true", help="skip the sentence model (shared words only)")
    p.add_argument("words", nargs="+", help="what the patient says")
    p.set_defaults(func=cmd_say)
