"""An oracle generation backend: answers each benchmark question right or wrong as the test decides."""

from __future__ import annotations

from ddcf.evaluate import benchmarks as B
from ddcf.runs.backends import Backend, Completion
from ddcf.runs.backends.dummy import ByteTokenizer
from ddcf.verify.answer_types.choice import extract_choice


def eval_config(tmp_path, **kw):
    from ddcf.evaluate.config import EvaluateConfig

    base = dict(model_name_or_path="dummy/oracle", backend="dummy", limit=2, n=1, output_dir=str(tmp_path / "run"),
                no_progress=True, workers=1, shard_size=1)
    base.update(kw)
    return EvaluateConfig(**base).validate()


class OracleBackend(Backend):
    """Question i (in file order) of a benchmark is answered correctly when ``right(bench, i, sample)``.

    Right answers come in the benchmark's real formats: ``\\boxed{gold}``, "The answer is (B)" for choices;
    AIME24's first question leaves its reasoning open (``<think>`` without ``</think>``) so the follow-ups
    must close it and get the box.  Follow-ups of both schedules are answered: after "</think>" (reference
    schedule: the open reasoning ends with the gold in a box, any other answer adds nothing) and after
    "\\boxed{" (the choice already made, or the gold)."""

    name = "oracle"

    def __init__(self, right, limit: int = 2):
        self.right = right
        self.tok = ByteTokenizer()
        self.main_prompts = 0
        self.followup_prompts = 0
        self.think_prompts = 0
        self.questions = {}
        for b in B.BENCHMARKS:
            for i, q in enumerate(B.load(b, limit).itertuples(index=False)):
                self.questions[q.question.strip()] = (b.name, i, q.gold, q.answer_type)

    @property
    def tokenizer(self):
        return self.tok

    def _find(self, text: str):
        found = [prob for prob in self.questions if prob in text]
        assert found, "prompt of an unknown question"
        return self.questions[max(found, key=len)]  # a short problem can be part of a longer one

    def generate(self, prompts, spec, seeds=None):
        out = []
        for ids in prompts:
            text = self.tok.decode(ids)
            bench, i, gold, kind = self._find(text)
            answer = text.split("<assistant>", 1)[-1].split("<|im_start|>assistant\n", 1)[-1]
            if text.rstrip().endswith("\\boxed{"):  # the (last) follow-up
                self.followup_prompts += 1
                # a model repeats the choice it already made; an open reasoning ends with the gold
                said = extract_choice(answer) if kind == "choice" else gold
                out.append([Completion(f"{said}}}$", len(ids), 3, "stop")])
                continue
            if text.endswith("</think>"):  # the reference schedule's continuation
                self.think_prompts += 1
                more = f"\n\nThe final answer is $\\boxed{{{gold}}}$." if "carefully" in answer else ""
                out.append([Completion(more, len(ids), len(more), "stop")])
                continue
            self.main_prompts += 1
            row = []
            for s in range(spec.n):
                ok = self.right(bench, i, s)
                if kind == "choice":
                    letter = gold if ok else ("A" if gold != "A" else "B")
                    body = f"Option (C) looks tempting, but checking each choice... The answer is ({letter})."
                elif bench == "aime24" and i == 0 and ok:
                    body = "<think>\nLet me compute this carefully, step by step"
                else:
                    body = f"Working it out.\nThe final answer is $\\boxed{{{gold if ok else '987654321'}}}$."
                row.append(Completion(body, len(ids), len(body), "stop" if "<think>" not in body else "length"))
            out.append(row)
        return out
