PYTHON ?= python3

RUN ?= runs/rotten_tomatoes

.PHONY: install main test lint ablations

# Everything berxit needs on a fresh machine, offline resources included.
install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps -r requirements-data.txt
	$(PYTHON) -m pip install --no-deps -e .

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

# Two workers, one per core (torch keeps to one thread in each); a module's tests share a worker, so fixtures
# that fine-tune once per module run once.
test: install lint
	$(PYTHON) -m pytest -n 2 --dist loadscope tests

# The main job on the embedded default: fine-tune the packaged MiniLM on Rotten Tomatoes, certify the operating
# point on validation, export a Hub-ready folder (with ONNX graphs, fp32 and int8, the int8 ones calibrated on
# themselves), check the promise on 200 random halves, and time serving the test split on this machine.
SEED ?= 42
MAIN_TRAINING = --exit_strategy alternating --num_train_epochs 1 --learning_rate 1e-4 --per_device_train_batch_size 16 \
	--max_length 64 --save_strategy no --report_to none --seed $(SEED)

main: install
	berxit-train --output_dir $(RUN) $(MAIN_TRAINING)
	berxit-sweep --model_dir $(RUN)
	berxit-export --model_dir $(RUN) --export_dir $(RUN)-export --onnx --quantize int8
	berxit-check-promise --model_dir $(RUN)
	berxit-serving-speed --model_dir $(RUN) --export_dir $(RUN)-export

# The certainty head's ablation on the main job (#24): the paper's recipe and each step of the ablation, by name
# (berxit.trainer.recipes), trained and swept one at a time (a run already swept is kept, so the target resumes),
# then compared side by side.
# Another seed: make ablations SEED=43 ABLATIONS_DIR=runs/ablations_seed43 ABLATIONS_REPORT=docs/ablations/main_job_seed43.md
ABLATIONS_DIR ?= runs/ablations
ABLATIONS_REPORT ?= docs/ablations/main_job.md
ABLATIONS ?= paper answer distill bce agreement head_only held_out equilibrium combined combined_agreement \
	combined_held_out
comma := ,
empty :=
space := $(empty) $(empty)

ablations: install
	$(foreach name,$(ABLATIONS),{ test -f $(ABLATIONS_DIR)/$(name)/sweep/summary.md || { berxit-train \
		--output_dir $(ABLATIONS_DIR)/$(name) --overwrite_output_dir $(MAIN_TRAINING) --recipe $(name) && \
		berxit-sweep --model_dir $(ABLATIONS_DIR)/$(name); }; } &&) true
	berxit-compare-runs --runs $(subst $(space),$(comma),$(addprefix $(ABLATIONS_DIR)/,$(ABLATIONS))) \
		--output $(ABLATIONS_REPORT)
