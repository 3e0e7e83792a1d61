import CourierIDL
