print("lazyfs")
