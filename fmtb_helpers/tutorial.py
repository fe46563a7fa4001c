"""The tutorial's own code, generated from the notebooks that introduce it: do not edit.

Each block below is a code cell whose first line is ``#@save`` in the notebook named
above it. Edit the cell there, then run ``make notebooks`` (or
``python -m fmtb.maintainer.save``), which writes this file again.
"""
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .training import check_loss

__all__ = ["classes", "matplotlib_imshow", "Net", "select_n_random", "images_to_probs",
           "plot_classes_preds", "train", "predict", "add_pr_curve_tensorboard"]


# from notebooks/01_setup_tensorboard.ipynb, cell code-10
# constant for classes
classes = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
        'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle Boot')


# from notebooks/02_write_to_tensorboard.ipynb, cell code-08
# helper function to show an image
# (used in the `plot_classes_preds` function below)
def matplotlib_imshow(img, one_channel=False):
    if one_channel:
        img = img.mean(dim=0)
    img = img.cpu() / 2 + 0.5     # unnormalize (fixed: on the CPU, for .numpy())
    npimg = img.numpy()
    if one_channel:
        plt.imshow(npimg, cmap="Greys")
    else:
        plt.imshow(np.transpose(npimg, (1, 2, 0)))


# from notebooks/03_inspect_the_model.ipynb, cell code-06
class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = x.view(-1, 16 * 4 * 4)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


# from notebooks/04_projector.ipynb, cell code-08
# helper function
def select_n_random(data, labels, n=100):
    '''
    Selects n random datapoints and their corresponding labels from a dataset
    '''
    assert len(data) == len(labels)

    perm = torch.randperm(len(data))
    return data[perm][:n], labels[perm][:n]


# from notebooks/05_track_training.ipynb, cell code-12
def images_to_probs(net, images):
    '''
    Generates predictions and corresponding probabilities from a trained
    network and a list of images
    '''
    with torch.no_grad():  # fixed: looking needs no gradients
        output = net(images)
    # convert output probabilities to predicted class
    _, preds_tensor = torch.max(output, 1)
    preds = preds_tensor.cpu().numpy()  # fixed: .cpu(), and no squeeze of a batch of one
    return preds, [F.softmax(el, dim=0)[i].item() for i, el in zip(preds, output)]


# from notebooks/05_track_training.ipynb, cell code-14
def plot_classes_preds(net, images, labels):
    '''
    Generates matplotlib Figure using a trained network, along with images
    and labels from a batch, that shows the network's top prediction along
    with its probability, alongside the actual label, coloring this
    information based on whether the prediction was correct or not.
    Uses the "images_to_probs" function.
    '''
    images, labels = images[:8], labels[:8]  # added: at most 8, whatever the batch size
    preds, probs = images_to_probs(net, images)
    # plot the images in the batch, along with predicted and true labels
    fig = plt.figure(figsize=(3 * len(images), 3.6))  # fixed: one row (was 12 x 48)
    for idx in np.arange(len(images)):  # fixed: the whole batch (was always 4)
        ax = fig.add_subplot(1, len(images), idx+1, xticks=[], yticks=[])
        matplotlib_imshow(images[idx], one_channel=True)
        ax.set_title("{0}, {1:.1f}%\n(label: {2})".format(
            classes[preds[idx]],
            probs[idx] * 100.0,
            classes[labels[idx]]),
                    color=("green" if preds[idx]==labels[idx].item() else "red"))
    return fig


# from notebooks/05_track_training.ipynb, cell code-20
def train(net, trainloader, criterion, optimizer, writer, epochs=1,
          log_every=1000):  # parameters: the tutorial's 1 epoch, 1000 mini-batches
    device = next(net.parameters()).device  # fixed: the model's device
    running_loss = 0.0
    for epoch in range(epochs):  # loop over the dataset multiple times
        for i, data in enumerate(trainloader, 0):
            # get the inputs; data is a list of [inputs, labels]
            # fixed: on the model's device (see Differences from the tutorial)
            inputs, labels = data[0].to(device), data[1].to(device)
            # zero the parameter gradients
            optimizer.zero_grad()
            # forward + backward + optimize
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            running_loss += loss.item()
            step = epoch * len(trainloader) + i  # the tutorial's step, named once
            # fixed: stop if the loss diverges (see Differences from the tutorial)
            check_loss(running_loss, step)
            if i % log_every == log_every - 1:    # every log_every mini-batches...
                # ...log the running loss
                writer.add_scalar('training loss', running_loss / log_every, step)
                # ...log a Matplotlib Figure showing the model's predictions on
                # the current mini-batch
                writer.add_figure('predictions vs. actuals',
                                  plot_classes_preds(net, inputs, labels),
                                  global_step=step)
                running_loss = 0.0
    print('Finished Training')


# from notebooks/06_assess_the_model.ipynb, cell code-10
def predict(net, testloader):
    """1. gets the probability predictions in a test_size x num_classes Tensor
    2. gets the preds in a test_size Tensor"""
    device = next(net.parameters()).device
    class_probs = []
    class_label = []
    with torch.no_grad():
        for data in testloader:
            images, labels = data[0].to(device), data[1]
            output = net(images)
            class_probs_batch = F.softmax(output, dim=1)  # one softmax for the batch
            class_probs.append(class_probs_batch.cpu())
            class_label.append(labels)
    test_probs = torch.cat(class_probs)
    test_label = torch.cat(class_label)
    return test_probs, test_label


# from notebooks/06_assess_the_model.ipynb, cell code-18
# helper function
def add_pr_curve_tensorboard(writer, class_index, test_probs, test_label,
                             global_step=0):  # fixed: the writer comes in
    '''
    Takes in a "class_index" from 0 to 9 and plots the corresponding
    precision-recall curve
    '''
    tensorboard_truth = test_label == class_index
    tensorboard_probs = test_probs[:, class_index]

    writer.add_pr_curve(classes[class_index],
                        tensorboard_truth,
                        tensorboard_probs,
                        global_step=global_step)
    # fixed: no writer.close() here, which began a new event file per class
