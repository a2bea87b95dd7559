"""Networks, their cached training, pretrained torchvision classifiers from local files."""
