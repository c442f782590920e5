"""The clinician's heads-up panel on the desktop window (never drawn in the headset)."""

from __future__ import annotations

from direct.gui.OnscreenText import OnscreenText
from panda3d.core import TextNode

from vr.sim import WorldState

HELP = """Keys
  Space   pause / resume (also resumes after panic)
  P       panic: safe scene now (F12 too, even while typing)
  Up/Down step up / down
  1-9, 0  SUDS 10-90, 100   (backquote key: SUDS 0)
  T       type what the patient says (Enter sends, Esc cancels)
  R       let the humans talk again after a risk alert
  W A S D move   mouse  look
  H       this help      Esc  end the session"""


class Hud:
    """Profile, step, intensity, timers, last SUDS, prompts and alerts, refreshed ten times a second."""

    def __init__(self, base, profile_name: str, n_steps: int) -> None:
        """``base``: the ShowBase whose window shows the panel (anchored to its corners)."""
        self.profile_name = profile_name
        self.n_steps = n_steps
        self.panel = OnscreenText(parent=base.a2dTopLeft, pos=(0.04, -0.08), scale=0.045, align=TextNode.ALeft,
                                  fg=(1, 1, 1, 1), bg=(0, 0, 0, 0.55), mayChange=True)
        self.alert = OnscreenText(parent=base.a2dBottomCenter, pos=(0, 0.1), scale=0.055, fg=(1, 0.85, 0.3, 1),
                                  bg=(0, 0, 0, 0.6), mayChange=True)
        self.help = OnscreenText(parent=base.aspect2d, text=HELP, pos=(-0.6, 0.3), scale=0.05, align=TextNode.ALeft,
                                 fg=(1, 1, 1, 1), bg=(0, 0, 0, 0.75))
        self.help.hide()
        self._since = 1.0
        self._alert_left = 0.0

    def open_words(self, base, on_words) -> None:
        """A one-line box for the patient's words (what they said aloud), typed by the clinician."""
        from direct.gui.DirectEntry import DirectEntry

        if getattr(self, "words", None) is not None:
            return
        def submit(text: str) -> None:
            self.close_words()
            if text.strip():
                on_words(text.strip())

        self.words = DirectEntry(parent=base.a2dBottomLeft, pos=(0.05, 0, 0.2), scale=0.05, width=30, numLines=1,
                                 focus=1, command=submit, initialText="", frameColor=(0, 0, 0, 0.7),
                                 text_fg=(1, 1, 1, 1))
        self.words_label = OnscreenText(parent=base.a2dBottomLeft, pos=(0.05, 0.27), scale=0.04, align=TextNode.ALeft,
                                        text="The patient says (Enter sends, Esc cancels):", fg=(1, 0.9, 0.5, 1),
                                        bg=(0, 0, 0, 0.6))

    def close_words(self) -> None:
        if getattr(self, "words", None) is not None:
            self.words.destroy()
            self.words_label.destroy()
            self.words = None

    @property
    def typing(self) -> bool:
        return getattr(self, "words", None) is not None

    def toggle_help(self) -> None:
        if self.help.isHidden():
            self.help.show()
        else:
            self.help.hide()

    def show_alert(self, text: str, seconds: float = 8.0) -> None:
        self.alert.setText(text)
        self._alert_left = seconds

    def update(self, world: WorldState, dt_s: float) -> None:
        self._since += dt_s
        if self._alert_left > 0.0:
            self._alert_left -= dt_s
            if self._alert_left <= 0.0:
                self.alert.setText("")
        if self._since < 0.1:
            return
        self._since = 0.0
        if world.game is not None:
            self.panel.setText("\n".join(_play_lines(self.profile_name, self.n_steps, world)))
            return
        suds = "-" if world.last_suds is None else f"{world.last_suds:.0f}"
        lines = [
            self.profile_name,
            f"step {world.step_index + 1}/{self.n_steps}: {world.step_name}",
            f"{world.mode.upper()}   scene {world.scene}   intensity {world.intensity:.2f}",
            f"step {_clock(world.step_t_s)}   session {_clock(world.t_s)}   humans {world.humans.count}",
            f"last SUDS {suds}" + (f"   ASK: {world.rating_prompt.upper()} rating" if world.rating_prompt else ""),
            "H: help",
        ]
        self.panel.setText("\n".join(lines))

    def destroy(self) -> None:
        self.close_words()
        for node in (self.panel, self.alert, self.help):
            node.destroy()


def _play_lines(name: str, n_phases: int, world: WorldState) -> list[str]:
    """The panel during a distraction session: phase, game, pain."""
    g = world.game
    pain = "-" if world.last_pain is None else f"{world.last_pain:.0f}"
    phase = (f"phase {g.phase + 1}/{n_phases}: {world.step_name}" if g.in_phase else world.step_name)
    rate = "-" if g.hit_rate is None else f"{g.hit_rate:.0%}"
    return [name, phase,
            f"{world.mode.upper()}   {_clock(world.t_s)}   phase time {_clock(world.step_t_s) if g.in_phase else '-'}",
            f"score {g.score}   hits {g.hits}   hit rate {rate}   difficulty {g.difficulty:.2f}",
            f"looking at the game: {'yes' if g.engaged else 'NO'}   breathing pacer {'on' if g.breathing_on else 'off'}",
            f"last pain {pain}" + (f"   ASK: {world.rating_prompt.upper()} rating" if world.rating_prompt else ""),
            "N next phase  E end phase  0-9,- pain  B breathing  H help"]


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"
