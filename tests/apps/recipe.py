"""Each norm's recipe as apps/vkmnist/recipe.cpp states it (peak learning rate at batch 128, L2,
batch size), for the tests that check what the commands default to."""
RECIPE = {"bn": (0.05, 4e-4, 128), "ln": (0.1, 4e-4, 128), "gn": (0.1, 0.0, 16), "in": (0.1, 0.0, 128)}


def default_lr(norm, batch):
    return RECIPE[norm][0] * batch / 128


def default_l2(norm):
    return RECIPE[norm][1]


def default_batch(norm):
    return RECIPE[norm][2]
