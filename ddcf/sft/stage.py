"""Stage 7: supervised fine-tuning of the target model on its selection, with TRL's SFTTrainer.

Reads  DDCF_data/selection/<model>/lamda<l>_k<k>/dataset (or --train_file_path)
Writes DDCF_data/sft/<model>/lamda<l>_k<k>/ (or --output_dir; a --model_name other than the selection's
       target gets lamda<l>_k<k>__<model>, ddcf.sft.paths), paths from the Layout:
       the fine-tuned model + tokenizer (LoRA adapters with --use_peft), checkpoint-N/ while training,
       sft_run_config.json (what the checkpoints were trained with), sft_trained.json (training ended, before the
       final save), sft_report.json (last: the run finished, with the settings it was made with), sft.config.yaml

A rerun resumes from the newest complete checkpoint (the settings must match; an incomplete one, left by a kill
while it was written, is moved to incomplete/), finishes without training when that checkpoint is the last step
(a kill during the final save), and skips a finished run only when it was made with the same settings and data
(ddcf.sft.finished; otherwise it refuses, --overwrite trains again).  Under ``accelerate launch`` every process
runs this; only the main one writes the stage's own files.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ddcf.artifacts import sft_run
from ddcf.errors import DDCFError, first_line
from ddcf.io import read_json, write_json
from ddcf.layout import Layout
from ddcf.pipeline import Report
from ddcf.runtime import cuda_available, is_available, require
from ddcf.sft import checkpoints as C
from ddcf.sft import finished
from ddcf.sft.config import SFTConfig
from ddcf.sft.data import PreparedData, build_prompt_completion, load_examples, set_chat_template
from ddcf.sft.finished import WEIGHT_KEYS, check_finished, request
from ddcf.sft.paths import config_paths as paths
from ddcf.sft.rope import extend_context
from ddcf.sft.schedule import Schedule, resolve_schedule
from ddcf.sft.tokens import PadChoice, apply_pad, choose_pad_token, model_eos_ids

SCRIPT = "train/sft.py"


@dataclass
class Prepared:
    """Everything built before the first optimizer step (tests inspect the trainer's dataset and collator)."""

    trainer: object
    data: PreparedData
    schedule: Schedule
    pad: PadChoice
    output_dir: Path
    resume_from: str | None
    notes: list[str]
    warnings: list[str]
    use_cache: bool = True  # the base model's, restored in the saved config (the Trainer sets it False)


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _load_tokenizer(name: str):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name)
    except Exception as exc:  # noqa: BLE001 - a wrong path or an offline Hub id becomes one message
        where = "a local folder" if Path(name).exists() else "neither an existing local folder nor a Hub model"
        raise DDCFError(
            f"Could not load the tokenizer of --model_name {name!r} ({where}; {type(exc).__name__}: "
            f"{first_line(exc)}).",
            "pass the folder of a downloaded model (with config.json and tokenizer files) or a Hugging Face Hub id "
            "such as Qwen/Qwen2.5-Math-7B (downloading needs the network; HF_HUB_OFFLINE=1 forbids it).",
        ) from None


def _run_settings(config: SFTConfig, train_path: Path, schedule: Schedule, data: PreparedData,
                  data_sha256: str | None) -> dict:
    """What the checkpoints depend on: a resume with other values would mix two trainings."""
    out = {k: getattr(config, k) for k in WEIGHT_KEYS}
    out.update(train_file_path=str(train_path.resolve()), train_data_sha256=data_sha256, examples=len(data.dataset),
               gradient_accumulation_steps=schedule.grad_accum, world_size=schedule.world_size,
               max_steps=schedule.max_steps)
    return out


def _resume_point(config: SFTConfig, out: Path, settings: dict, warn) -> str | None:
    # only complete checkpoints: transformers' get_last_checkpoint would pick a half-written one
    last = C.last_complete(out, move_aside=is_main_process(), warn=warn)
    if last is None:
        return None
    if sft_run.run_config_path(out).is_file():
        saved = sft_run.read_run_config(out)
        diff = sorted(k for k in settings if k in saved and saved[k] != settings[k])
        if diff:
            shown = "; ".join(f"{k}: {saved[k]!r} then, {settings[k]!r} now" for k in diff[:6])
            raise DDCFError(
                f"{out} holds checkpoints trained with other settings ({shown}), so resuming would mix two runs.",
                f"rerun with the same options to resume from {Path(last).name}, pass --overwrite to train from "
                "scratch, or pass another --output_dir.",
            )
    return str(last)


def _clear(out: Path) -> None:
    for child in out.glob("checkpoint-*"):
        if child.is_dir():
            shutil.rmtree(child)
    shutil.rmtree(out / C.INCOMPLETE, ignore_errors=True)
    for marker in (Layout.sft_report(out), Layout.sft_run_config(out), out / C.TRAINED):
        marker.unlink(missing_ok=True)


def prepare(layout: Layout, config: SFTConfig, log=print, data_sha256: str | None = None) -> Prepared:
    """Tokenizer, data, schedule, model and the SFTTrainer, ready to train."""
    require("trl", "make gpu-env ENGINE=train (requirements/gpu-train.txt, trl==1.16.0)", "train/sft.py")
    if config.use_peft:
        require("peft", "pip install peft", "--use_peft")
    if config.use_liger_kernel:
        require("liger_kernel", "pip install liger-kernel", "--use_liger_kernel")
    train_path, out = paths(layout, config)
    notes: list[str] = []
    warnings: list[str] = []

    tokenizer = _load_tokenizer(config.model_name)
    template = set_chat_template(tokenizer, config.chat_template, config.model_name)
    ds, kind = load_examples(train_path)
    data = build_prompt_completion(ds, kind, tokenizer, config.max_length, train_path, progress=config.progress,
                                   chat_template=config.chat_template)
    notes.append(f"data: {len(data.dataset):,} of {data.total:,} examples from {train_path} (prompt-completion, "
                 f"{template}; longest kept {data.longest:,} tokens)")
    if data.dropped:
        warnings.append(f"dropped {data.dropped:,} of {data.total:,} examples longer than --max_length "
                        f"{config.max_length:,} tokens (e.g. {', '.join(data.dropped_ids[:3])}), as the paper did.")

    from transformers import AutoConfig

    model_config = AutoConfig.from_pretrained(config.model_name)
    rope_note = extend_context(model_config, config.max_length, config.rope_extension, config.model_name,
                               longest=data.longest)
    if rope_note:
        notes.append(rope_note)

    world = int(os.environ.get("WORLD_SIZE", "1"))
    schedule = resolve_schedule(len(data.dataset), world, config.per_device_train_batch_size,
                                config.gradient_accumulation_steps, config.num_train_epochs, config.max_steps)
    gpu = cuda_available()
    bf16 = config.bf16 and gpu
    if config.bf16 and not gpu:
        notes.append("precision: fp32 (no CUDA GPU: bf16 is the GPU recipe; results on CPU are for smoke tests)")
    else:
        notes.append(f"precision: {'bf16' if bf16 else 'fp32'}")

    if config.overwrite and is_main_process() and out.is_dir():
        _clear(out)
    if data_sha256 is None:
        data_sha256 = finished.data_sha256(train_path)
    settings = _run_settings(config, train_path, schedule, data, data_sha256)
    resume = None if config.overwrite else _resume_point(config, out, settings, warnings.append)
    if is_main_process():
        for line in (*notes, schedule.describe(), *(f"warning: {w}" for w in warnings)):
            log(line)
        if resume:
            log(f"resuming from {resume}")

    use_cache = bool(getattr(model_config, "use_cache", True))
    trainer, pad = _build_trainer(config, tokenizer, model_config, data, schedule, out, bf16, gpu)
    notes.append(pad.note)
    if pad.warning:
        warnings.append(pad.warning)
    if is_main_process():
        log(pad.note)
        out.mkdir(parents=True, exist_ok=True)
        sft_run.write_run_config(settings, out)
    return Prepared(trainer, data, schedule, pad, out, resume, notes, warnings, use_cache)


def _build_trainer(config: SFTConfig, tokenizer, model_config, data: PreparedData, schedule: Schedule, out: Path,
                   bf16: bool, gpu: bool):
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig as TRLConfig
    from trl import SFTTrainer

    # transformers >= 5.2x names gradient checkpointing activation_checkpointing; older 5.x (e.g. 5.17 on a GPU
    # image, the engine environments' 5.19 / 5.20) know only gradient_checkpointing.
    ckpt = "activation_checkpointing" if "activation_checkpointing" in TRLConfig.__dataclass_fields__ \
        else "gradient_checkpointing"
    # Made before the model: under DeepSpeed ZeRO-3 the arguments make from_pretrained load the weights sharded.
    args = TRLConfig(
        output_dir=str(out), num_train_epochs=schedule.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=schedule.grad_accum, learning_rate=config.learning_rate,
        lr_scheduler_type=config.lr_scheduler_type, warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio
        weight_decay=config.weight_decay, adam_beta1=config.adam_beta1, adam_beta2=config.adam_beta2,
        optim="adamw_torch", bf16=bf16, fp16=False, use_cpu=not gpu,
        **{ckpt: config.gradient_checkpointing},
        use_liger_kernel=config.use_liger_kernel,
        max_length=config.max_length, completion_only_loss=True, packing=False,
        logging_steps=config.logging_steps, save_strategy="steps", save_steps=config.save_steps,
        save_total_limit=config.save_total_limit, report_to=config.report_to, seed=config.seed,
        disable_tqdm=not config.progress, dataloader_num_workers=0,
    )
    kwargs = {"config": model_config, "dtype": torch.bfloat16 if bf16 else torch.float32}
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    try:
        model = AutoModelForCausalLM.from_pretrained(config.model_name, **kwargs)
    except Exception as exc:  # noqa: BLE001
        raise DDCFError(f"Could not load the model {config.model_name!r} ({type(exc).__name__}: "
                        f"{first_line(exc)}).",
                        "pass a causal language model folder or Hub id (with its weights) as --model_name.") from None
    pad = choose_pad_token(tokenizer, model_eos_ids(model.config, getattr(model, "generation_config", None)))
    apply_pad(tokenizer, model, pad)
    peft_config = None
    if config.use_peft:
        from peft import LoraConfig

        targets = config.lora_target_modules
        peft_config = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                                 target_modules=targets if targets == "all-linear" else targets.split(","),
                                 task_type="CAUSAL_LM")
    if not config.progress and is_available("datasets"):
        from datasets.utils import logging as ds_logging

        ds_logging.disable_progress_bar()
    trainer = SFTTrainer(model=model, args=args, train_dataset=data.dataset, processing_class=tokenizer,
                         peft_config=peft_config)
    return trainer, pad


def _restore_use_cache(out: Path, value: bool) -> None:
    """transformers' Trainer sets ``config.use_cache = TrainingArguments.use_cache`` (False) on the model it trains,
    and save_model writes that into config.json: the fine-tuned model would then generate without its KV cache
    (hf evaluation about 10x slower per token on a CPU).  Put the base model's value back."""
    path = Path(out) / "config.json"
    if not path.is_file():  # LoRA adapters only: the base model's config is used
        return
    saved = read_json(path, "the fine-tuned model's config", "rerun with --overwrite")
    if isinstance(saved, dict) and saved.get("use_cache", value) != value:
        write_json({**saved, "use_cache": value}, path)


def _mean_loss(losses: list) -> float:
    """Mean of the logged losses: the whole run's mean loss when every step is logged (--logging_steps 1)."""
    return sum(v for _, v in losses) / len(losses) if losses else float("nan")


def run(layout: Layout, config: SFTConfig) -> Report:
    started = time.time()
    train_path, out = paths(layout, config)
    wanted = request(config, train_path)
    previous = None if config.overwrite else check_finished(out, config, train_path)
    if previous is not None:
        return Report(stage="sft", summary=(
            f"sft: {out} already holds a finished run with the same settings and data ({previous.get('steps', '?')} "
            f"steps, final loss {previous.get('final_loss', '?')}); nothing to do. Pass --overwrite to train again."),
            files=[Layout.sft_report(out)], details=previous)
    prep = prepare(layout, config, data_sha256=wanted["train_data_sha256"])
    trained = out / C.TRAINED
    ended = C.finished_step(Path(prep.resume_from) if prep.resume_from else None, prep.schedule.max_steps)
    if ended is not None:
        # killed during the final save: training had ended at this checkpoint, so training again (even "resuming"
        # at the last step) could only add steps or change the logged losses; its model files are the final ones
        log_history, steps = ended.get("log_history", []), int(ended["global_step"])
        marker = read_json(trained, "the end-of-training marker", "rerun with --overwrite") \
            if trained.is_file() else {}
        losses = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
        train_loss = marker.get("train_loss") if isinstance(marker, dict) and marker.get("steps") == steps else None
        if train_loss is None:  # killed before the marker: the mean of the logged losses
            train_loss = _mean_loss(losses)
        if is_main_process():
            C.install_model_from(Path(prep.resume_from), out)
        prep.notes.append(f"training had ended at {Path(prep.resume_from).name} (step {steps} of "
                          f"{prep.schedule.max_steps}); its model was installed without training again")
    else:
        result = prep.trainer.train(resume_from_checkpoint=prep.resume_from)
        steps, train_loss = int(prep.trainer.state.global_step), float(result.training_loss)
        losses = [(e["step"], e["loss"]) for e in prep.trainer.state.log_history if "loss" in e]
        if prep.resume_from:
            # the Trainer's training_loss sums this session's steps only but divides by every step (a run resumed
            # at step 4 of 8 reports about half its loss); the log history spans the whole run
            train_loss = _mean_loss(losses)
        if is_main_process():
            write_json({"steps": steps, "train_loss": train_loss}, trained)
        prep.trainer.save_model(str(out))
    if is_main_process():
        _restore_use_cache(out, prep.use_cache)
    details = {
        "model_name": config.model_name, "train_file_path": str(train_path), "output_dir": str(out),
        "examples": len(prep.data.dataset), "dropped": prep.data.dropped, "dropped_ids": prep.data.dropped_ids,
        "steps": steps, "epochs": prep.schedule.epochs,
        "effective_batch": prep.schedule.effective_batch, "train_loss": train_loss,
        "first_loss": round(losses[0][1], 4) if losses else None,
        "final_loss": round(losses[-1][1], 4) if losses else None,
        "losses": losses, "pad_token": prep.pad.token, "pad_source": prep.pad.source,
        "resumed_from": prep.resume_from, "finished_from_checkpoint": ended is not None, "settings": wanted,
        "notes": prep.notes, "seconds": round(time.time() - started, 1),
    }
    files = []
    if is_main_process():
        files.append(sft_run.write_report(details, out))
    summary = [f"sft: fine-tuned {config.model_name} -> {out}", *(f"  {n}" for n in prep.notes),
               "  " + prep.schedule.describe().replace("\n", "\n  "),
               f"  {details['steps']} optimizer steps, loss {details['first_loss']} -> {details['final_loss']} "
               f"(mean {details['train_loss']:.4f}), {details['seconds']:.0f} s"
               + (f", resumed from {Path(prep.resume_from).name}" if prep.resume_from else ""),
               f"  next: python eval/evaluate.py --model_name_or_path {out} --benchmarks all "
               f"--output_dir {Layout.sft_eval_dir(out)}"]
    return Report(stage="sft", summary="\n".join(summary), files=files, warnings=prep.warnings, config_dir=out,
                  details=details)
