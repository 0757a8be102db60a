"""Options of stage 7 (``train/sft.py``, ``ddcf sft``): supervised fine-tuning with TRL, the only place they
are written.  Defaults are the paper's recipe (App. A.2, Table 4).  Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass

from ddcf.config import StageConfig, option
from ddcf.errors import DDCFError

CHATML = "chatml"  # built-in ChatML chat template for tokenizers that have none (ddcf.sft.data)
# the other --chat_template names, reference (default) and model, are in ddcf.chat_format

FITS = (
    "What fits where (bf16, --max_length 16384, gradient checkpointing): full fine-tuning of a 7B model with "
    "AdamW needs about 16 bytes per parameter for weights, gradients and optimizer state (~112 GB) before "
    "activations, so it does NOT fit one 80 GB GPU: use 8 GPUs with DeepSpeed ZeRO-3 (train/accelerate/"
    "zero3_8gpu.yaml; the paper's 7B runs) or --use_peft (LoRA: a 7B model trains on one 80 GB GPU; add "
    "--use_liger_kernel to cut the logits' memory). Models up to ~1.5B fine-tune fully on one 80 GB GPU "
    "(train/accelerate/single_gpu.yaml); a 135M model runs on a laptop CPU (make sft-smoke)."
)


@dataclass
class SFTConfig(StageConfig):
    """Stage 7: fine-tune the target model on its selection with TRL's SFTTrainer (prompt = the question in the
    released code's ChatML format with its system prompt, completion = the corpus response + EOS, loss on the
    completion only). Paper recipe by default: bf16,
    AdamW (0.9, 0.95), weight decay 1e-4, lr 2e-5, cosine, warmup 0.03, max length 16,384, gradient
    checkpointing, epochs and batch by dataset size (Table 4). Resumes from the last checkpoint in --output_dir."""

    model_name: str | None = option(
        None, "Model to fine-tune: a local folder or a Hugging Face Hub id (e.g. Qwen/Qwen2.5-Math-7B).",
        required=True, metavar="MODEL",
    )
    train_file_path: str | None = option(
        None, "Hugging Face dataset saved on disk (columns question + response, or messages): default the "
        "selection's dataset/ folder, DDCF_data/selection/<selection_model>/lamda<l>_k<k>/dataset.",
        metavar="DIR",
    )
    selection_model: str | None = option(
        None, "Name the selection was made for (default: --model_name); picks the default --train_file_path "
        "and --output_dir.", metavar="MODEL",
    )
    lamda: float = option(0.2, "lamda of the selection run to train on (default paths only).", min=0.0, max=1.0)
    num_select: int = option(1000, "k of the selection run to train on (default paths only).", min=1, metavar="K")
    output_dir: str | None = option(
        None, "Checkpoints and the fine-tuned model (default: DDCF_data/sft/<selection_model>/lamda<l>_k<k>; "
        "required with a custom --train_file_path).", metavar="DIR",
    )
    num_train_epochs: float | None = option(
        None, "Epochs (default: Table 4 - 4 up to 16,000 examples, else 3).", min_excl=0.0,
    )
    max_steps: int | None = option(None, "Stop after this many optimizer steps (overrides the epochs).", min=1)
    learning_rate: float = option(2e-5, "Peak learning rate (paper: 2e-5).", min_excl=0.0)
    per_device_train_batch_size: int = option(1, "Sequences per GPU (or CPU) per forward pass.", min=1)
    gradient_accumulation_steps: int | None = option(
        None, "Forward passes per optimizer step (default: what makes per_device * accumulation * processes the "
        "Table 4 effective batch - 32 up to 16,000 examples, 64 below 64,000, 128 from 64,000).", min=1,
    )
    max_length: int = option(
        16384, "Longest training sequence in tokens; longer examples are dropped and counted, never truncated "
        "(paper: 16,384).", min=8,
    )
    warmup_ratio: float = option(0.03, "Linear warmup as a fraction of the steps (paper: 0.03).", min=0.0, max_excl=1.0)
    weight_decay: float = option(1e-4, "AdamW weight decay (paper: 1e-4).", min=0.0)
    adam_beta1: float = option(0.9, "AdamW beta1 (paper: 0.9).", min=0.0, max_excl=1.0)
    adam_beta2: float = option(0.95, "AdamW beta2 (paper: 0.95).", min=0.0, max_excl=1.0)
    lr_scheduler_type: str = option("cosine", "Learning-rate schedule (transformers' names).",
                                    choices=("cosine", "linear", "constant", "constant_with_warmup"))
    bf16: bool = option(True, "Train in bfloat16 on a GPU (on a CPU the run is fp32, with a note).")
    gradient_checkpointing: bool = option(True, "Recompute activations in the backward pass to save memory.")
    use_liger_kernel: bool = option(False, "Liger kernels (fused linear cross-entropy etc.; pip install "
                                    "liger-kernel): less memory on one GPU.")
    use_peft: bool = option(False, "Train LoRA adapters (peft) instead of every weight: a 7B model on one GPU.")
    lora_r: int = option(16, "LoRA rank (with --use_peft).", min=1)
    lora_alpha: int = option(32, "LoRA alpha (with --use_peft).", min=1)
    lora_dropout: float = option(0.05, "LoRA dropout (with --use_peft).", min=0.0, max_excl=1.0)
    lora_target_modules: str = option("all-linear", "Modules that get adapters: all-linear or comma-separated "
                                      "module names (with --use_peft).")
    chat_template: str = option(
        "reference", "Prompt format: reference (the released code's: ChatML with the system prompt 'Please reason "
        "step by step, and put your final answer within \\boxed{}.', the question as user turn, the response + "
        "EOS as completion, for every model), model (the tokenizer's own chat template, the question as user turn), "
        "chatml (built-in ChatML turns, no system prompt) or a .jinja chat template file.",
        metavar="reference|model|chatml|FILE",
    )
    rope_extension: str = option(
        "yarn_reference", "When the model's context is shorter than --max_length: yarn_reference (the released "
        "train/sft.py: max_position_embeddings = --max_length and YaRN factor 2 with original_max_position_embeddings "
        "= --max_length, whatever the examples), yarn_fit (YaRN factor max_length / context with the model's own "
        "context as original, only when some kept example is longer than the context) or none (stop with an error "
        "when an example is longer than the context). Said in the log; examples are never truncated.",
        choices=("yarn_reference", "yarn_fit", "none"),
    )
    attn_implementation: str | None = option(
        None, "Attention kernel passed to from_pretrained (e.g. sdpa, flash_attention_2; default: transformers').",
    )
    seed: int = option(42, "Seed of data order and initialisation (LoRA adapters).", min=0, max=2**32 - 1)
    logging_steps: int = option(1, "Log the loss every this many optimizer steps.", min=1)
    save_steps: int = option(50, "Save a checkpoint every this many optimizer steps (a rerun resumes from the "
                             "last one).", min=1)
    save_total_limit: int = option(2, "Checkpoints kept (older ones are deleted).", min=1)
    report_to: str = option("none", "Where the trainer reports metrics: none, tensorboard, wandb, ...")
    overwrite: bool = option(False, "Train from scratch even when --output_dir holds checkpoints or a finished run.")

    def check(self) -> None:
        if self.train_file_path and not self.output_dir:
            raise DDCFError(
                "--train_file_path was given without --output_dir.",
                "pass --output_dir DIR for the checkpoints and the fine-tuned model (the default folder is only "
                "derived for the selection's own dataset).",
            )


# --help states what fits where: the description is the docstring.
SFTConfig.__doc__ = f"{SFTConfig.__doc__} {FITS}"
