print("courier-idl: being written")
