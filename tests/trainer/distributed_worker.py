"""One process of the two-process test: fine-tunes a tiny model and saves what it ended with.

Launched by tests/trainer/test_distributed.py as `torchrun --standalone --nproc_per_node 2`.
"""

import sys
from pathlib import Path

import torch

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]  # test_trainer, and tiny_models
from test_trainer import logged_objectives, make_args, random_dataset, train_model  # noqa: E402

output_dir, strategy = sys.argv[1], sys.argv[2]
args = make_args(output_dir, exit_strategy=strategy, max_steps=4, per_device_train_batch_size=2)
trainer = train_model(args, random_dataset(16))
model = trainer.accelerator.unwrap_model(trainer.model)
torch.save(
    {"world_size": args.world_size, "state": model.state_dict(), "objectives": logged_objectives(trainer)},
    f"{output_dir}/rank{args.process_index}.pt",
)
