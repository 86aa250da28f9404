"""The example networks of resources/networks/ written by hand in PyTorch, the way a
PyTorch user writes them. The tests compare the compiled networks with them (same
weights, same outputs) and the benchmarks time both side by side. Attribute names are
the node names, so a compiled network's state_dict loads into them as it is."""
import torch
from torch import nn


class HandLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class HandMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 800)
        self.output = nn.Linear(800, 10)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(torch.flatten(x, 1))))


class HandCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.conv2, self.bn2 = nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.conv3, self.bn3 = nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64)
        self.fc1, self.fc2 = nn.Linear(64 * 8 * 8, 128), nn.Linear(128, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = nn.functional.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = nn.functional.max_pool2d(torch.relu(self.bn3(self.conv3(x))), 2)
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class HandResNet(nn.Module):
    def __init__(self):
        super().__init__()
        conv = lambda i, o, s=1, k=3: nn.Conv2d(i, o, k, s, k // 2, bias=False)  # noqa: E731
        self.stem_conv, self.stem_bn = conv(3, 16), nn.BatchNorm2d(16)
        self.block1_conv1, self.block1_bn1 = conv(16, 16), nn.BatchNorm2d(16)
        self.block1_conv2, self.block1_bn2 = conv(16, 16), nn.BatchNorm2d(16)
        self.block2_conv1, self.block2_bn1 = conv(16, 32, 2), nn.BatchNorm2d(32)
        self.block2_conv2, self.block2_bn2 = conv(32, 32), nn.BatchNorm2d(32)
        self.block2_shortcut, self.block2_shortcut_bn = conv(16, 32, 2, 1), nn.BatchNorm2d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.stem_bn(self.stem_conv(x)))
        y = self.block1_bn2(self.block1_conv2(torch.relu(self.block1_bn1(self.block1_conv1(x)))))
        x = torch.relu(x + y)
        y = self.block2_bn2(self.block2_conv2(torch.relu(self.block2_bn1(self.block2_conv1(x)))))
        x = torch.relu(y + self.block2_shortcut_bn(self.block2_shortcut(x)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))
