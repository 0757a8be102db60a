"""Stage 7: supervised fine-tuning of the target model on its selection (TRL SFTTrainer); see stage.py."""
