# trainer/dnn.mk: the cuDNN/cuBLAS function table (trainer/dnn.h): its
# run-time loader, the check of its declarations against cuDNN's headers,
# and the tests' CPU stand-in of the libraries; included by Makefile.am.
