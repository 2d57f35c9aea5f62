"""genmods: hands-on classic generative deep learning (char-LSTM text, DeepDream, neural style transfer)."""
