"""Two processes (gloo on CPU) fine-tune together and end with identical parameters."""

import torch
from accelerate import debug_launcher
from test_trainer import logged_objectives, make_args, random_dataset, train_model


def train_on_this_rank(output_dir, strategy):
    args = make_args(output_dir, exit_strategy=strategy, max_steps=4, per_device_train_batch_size=2)
    trainer = train_model(args, random_dataset(16))
    assert args.world_size == 2, "the launcher should have started two processes"
    rank = trainer.args.process_index
    model = trainer.accelerator.unwrap_model(trainer.model)
    torch.save(
        {"state": model.state_dict(), "objectives": logged_objectives(trainer) if rank == 0 else None},
        f"{output_dir}/rank{rank}.pt",
    )


def test_two_processes_end_with_identical_parameters(tmp_path):
    for strategy in ("alternating", "two_stage"):
        output_dir = tmp_path / strategy
        output_dir.mkdir()
        debug_launcher(train_on_this_rank, args=(str(output_dir), strategy), num_processes=2)
        first, second = (torch.load(output_dir / f"rank{rank}.pt") for rank in (0, 1))
        for name, value in first["state"].items():
            assert torch.equal(value, second["state"][name]), name
        assert (
            first["objectives"]
            == {
                "alternating": ["all_exits", "final_exit"] * 2,
                "two_stage": ["final_exit"] * 2 + ["early_exits"] * 2,
            }[strategy]
        )
